// The main thread's side of the SQLite store's worker threads (the writer,
// sqlite-writer.ts, and the query thread, query-thread.ts): each call is a
// message with an id, answered by one reply with that id (worker-serve.ts
// on the other side). A failure crosses as a StoreError's reason and
// message, since a StoreError does not survive structured cloning. A
// thread that fails or ends fails every call in flight and every later
// one with StoreError("unreachable").
import { StoreError, type StoreFailure } from "./errors.ts";

/** A worker's answer to the call with `id`. */
export type WorkerReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; failure: StoreFailure; message: string };

/**
 * A worker module's URL: beside this file when run from source; in the
 * compiled binary, where build.ts embeds it (an extra entry point, rooted at
 * the entry points' common folder, src/).
 */
export function storeWorkerUrl(file: string): string {
  const beside = new URL(`./${file}`, import.meta.url);
  return beside.pathname.startsWith("/$bunfs/") ? `/$bunfs/root/coderd/store/${file}` : beside.href;
}

/** Bun's and Node's workers can be (un)referenced; Deno's cannot (they never hold the process). */
type RefWorker = Worker & { ref?: () => void; unref?: () => void };

interface Pending {
  resolve(value: unknown): void;
  reject(error: StoreError): void;
}

export interface WorkerCallsOptions {
  /** Named in the errors: "the SQLite writer thread". */
  name: string;
  /** Let the process exit while no call is outstanding (the query thread); default: the worker holds it. */
  unrefWhenIdle?: boolean;
}

export class WorkerCalls {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failed: StoreError | null = null;

  constructor(
    private readonly worker: RefWorker,
    private readonly opts: WorkerCallsOptions,
  ) {
    worker.onmessage = (e: MessageEvent<WorkerReply>) => this.settle(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      this.fail(new StoreError("unreachable", `${opts.name} failed: ${e.message}`));
    };
    // Bun tells when a worker's thread has ended; a call waiting then would never be answered.
    worker.addEventListener("close", () => this.fail(new StoreError("unreachable", `${opts.name} ended`)));
    if (opts.unrefWhenIdle) worker.unref?.();
  }

  /** Why calls fail from now on, once the thread failed or was stopped. */
  get dead(): StoreError | null {
    return this.failed;
  }

  /** Sends `message` with a fresh id; resolves with the reply's value (rejects after `timeoutMs` when given). */
  call<T = unknown>(message: object, timeoutMs?: number): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.forget(id);
        reject(new StoreError("unreachable", `${this.opts.name} did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const settled = <V,>(f: (v: V) => void) => (v: V) => (clearTimeout(timer), f(v));
      this.pending.set(id, { resolve: settled(resolve as (v: unknown) => void), reject: settled(reject) });
      if (this.pending.size === 1 && this.opts.unrefWhenIdle) this.worker.ref?.();
      this.worker.postMessage({ ...message, id });
    });
  }

  /** Fails what is outstanding and later calls with `error`, and ends the thread. */
  fail(error: StoreError): void {
    this.failed ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.worker.terminate();
  }

  private settle(reply: WorkerReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.forget(reply.id);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new StoreError(reply.failure, reply.message));
  }

  private forget(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0 && this.opts.unrefWhenIdle) this.worker.unref?.();
  }
}
