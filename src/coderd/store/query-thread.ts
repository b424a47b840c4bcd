// The main thread's side of the SQLite store's query thread
// (query-worker.ts): sends each read there and resolves with its answer.
// The worker keeps the process alive only while a read is outstanding, so
// an idle store never holds up an exit. If the thread dies, outstanding and
// later reads fail with StoreError("unreachable").
import { StoreError } from "./errors.ts";
import type { FromQueryThread, QueryArgs, QueryMethod, QueryResult, ToQueryThread } from "./query-protocol.ts";

const OPEN_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 2_000;

/** Bun's and Node's workers can be (un)referenced; Deno's cannot (they never hold the process). */
type RefWorker = Worker & { ref?: () => void; unref?: () => void };

/**
 * The worker's URL: beside this file when run from source; in the compiled
 * binary, where build.ts embeds it (an extra entry point, rooted at src/).
 */
function queryWorkerUrl(): string {
  const beside = new URL("./query-worker.ts", import.meta.url);
  return beside.pathname.startsWith("/$bunfs/") ? "/$bunfs/root/coderd/store/query-worker.ts" : beside.href;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class QueryThread {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: StoreError | null = null;
  private onClosed: (() => void) | null = null;

  private constructor(private readonly worker: RefWorker) {
    worker.onmessage = (e: MessageEvent<FromQueryThread>) => this.received(e.data);
    worker.onerror = (e: ErrorEvent) => this.fail(new StoreError("unreachable", `the query thread failed: ${e.message}`));
  }

  /** Starts the thread and opens `path` there; throws StoreError when it cannot. */
  static async start(path: string, busyTimeoutMs: number): Promise<QueryThread> {
    const thread = new QueryThread(new Worker(queryWorkerUrl(), { type: "module" }));
    try {
      await thread.request(0, { kind: "open", path, busyTimeoutMs }, OPEN_TIMEOUT_MS);
    } catch (err) {
      thread.worker.terminate();
      throw err;
    }
    thread.worker.unref?.();
    return thread;
  }

  call<M extends QueryMethod>(method: M, args: QueryArgs<M>): Promise<QueryResult<M>> {
    const id = this.nextId++;
    return this.request(id, { kind: "query", id, method, args }) as Promise<QueryResult<M>>;
  }

  /** Closes the thread's connection and stops it; outstanding reads fail. */
  async close(): Promise<void> {
    if (!this.dead) {
      const closed = new Promise<void>((resolve) => (this.onClosed = resolve));
      this.worker.ref?.();
      this.worker.postMessage({ kind: "close" } satisfies ToQueryThread);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))]);
      clearTimeout(timer); // a pending timer would hold the process for its whole length
    }
    this.fail(new StoreError("unreachable", "the store is closed"));
  }

  private request(id: number, message: ToQueryThread, timeoutMs?: number): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.pending.delete(id);
        reject(new StoreError("unreachable", `the query thread did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const settle = <T,>(f: (v: T) => void) => (v: T) => (clearTimeout(timer), f(v));
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      if (this.pending.size === 1) this.worker.ref?.();
      this.worker.postMessage(message);
    });
  }

  private received(m: FromQueryThread): void {
    if (m.kind === "closed") return this.onClosed?.();
    const id = m.kind === "opened" ? 0 : m.id;
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref?.();
    if (m.kind === "error") waiting.reject(new StoreError(m.failure, m.message));
    else waiting.resolve(m.kind === "result" ? m.value : undefined);
  }

  private fail(err: StoreError): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.terminate();
  }
}
