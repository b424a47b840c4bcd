// Where the SQLite store's writes run: `WorkerWriter` sends them to the
// writer thread (sqlite-writer-worker.ts) so that SQLite statements and the
// commit's fsync use the second core; `InlineWriter` runs them on the
// store's own connection (an in-memory database, which a second connection
// cannot share). Both settle a group only after its COMMIT returned.
// A writer thread that dies fails every write in flight and every later one
// with StoreError("unreachable"): ingest answers unavailable, the agent
// retries, /readyz (ping) says why.
import type { SqliteDatabase } from "../../runtime/adapter.ts";
import { StoreError } from "./errors.ts";
import type { Outcome } from "./group-commit.ts";
import { BatchWriter } from "./sqlite-insert.ts";
import { type CrossedError, packBatches, type WriterReply, type WriterRequest, type WriterSettings } from "./sqlite-writer-protocol.ts";
import type { InsertResult, NewBatch } from "./store.ts";

export interface Writer {
  commit(batches: NewBatch[]): Outcome<InsertResult>[] | Promise<Outcome<InsertResult>[]>;
  advanceCursor(consumer: string, lastId: number): void | Promise<void>;
  /** Throws when writes cannot be taken. */
  check(): void;
  close(): Promise<void>;
}

export class InlineWriter implements Writer {
  private readonly batches: BatchWriter;

  constructor(db: SqliteDatabase, synchronous: "NORMAL" | "FULL") {
    this.batches = new BatchWriter(db, synchronous);
  }

  commit = (batches: NewBatch[]) => this.batches.commit(batches);
  advanceCursor = (consumer: string, lastId: number) => this.batches.advanceCursor(consumer, lastId);
  check(): void {}
  async close(): Promise<void> {
    this.batches.close();
  }
}

/**
 * The writer worker's URL: beside this file when run from source; in the
 * compiled binary, where build.ts embeds it (an extra entry point, rooted at
 * the entry points' common folder, src/).
 */
function writerWorkerUrl(): string {
  const beside = new URL("./sqlite-writer-worker.ts", import.meta.url);
  return beside.pathname.startsWith("/$bunfs/") ? "/$bunfs/root/coderd/store/sqlite-writer-worker.ts" : beside.href;
}

const fromCrossed = (e: CrossedError) => new StoreError(e.failure, e.message);

interface Waiting {
  resolve(reply: Extract<WriterReply, { kind: "done" }>): void;
  reject(error: StoreError): void;
}

export class WorkerWriter implements Writer {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private dead: StoreError | null = null;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<WriterReply>) => this.settle(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      this.fail(new StoreError("unreachable", `the SQLite writer thread failed: ${e.message}`));
    };
    // Bun tells when a worker's thread has ended; a write waiting then would never be answered.
    worker.addEventListener("close", () => this.fail(new StoreError("unreachable", "the SQLite writer thread ended")));
  }

  /** Ends the thread as a crash would (tests). */
  kill(): void {
    this.worker.terminate();
  }

  /** Starts the thread and opens the file there (the schema is already migrated). */
  static async start(settings: WriterSettings): Promise<WorkerWriter> {
    const writer = new WorkerWriter(new Worker(writerWorkerUrl(), { type: "module" }));
    try {
      await writer.request({ kind: "open", id: 0, settings });
    } catch (err) {
      writer.worker.terminate();
      throw err;
    }
    return writer;
  }

  async commit(batches: NewBatch[]): Promise<Outcome<InsertResult>[]> {
    const reply = await this.request({ kind: "commit", id: 0, batches: packBatches(batches) });
    return reply.outcomes!.map((o) => (o.ok ? o : { ok: false, error: fromCrossed(o.error) }));
  }

  async advanceCursor(consumer: string, lastId: number): Promise<void> {
    await this.request({ kind: "cursor", id: 0, consumer, lastId });
  }

  check(): void {
    if (this.dead) throw this.dead;
  }

  async close(): Promise<void> {
    if (!this.dead) await this.request({ kind: "close", id: 0 }).catch(() => {});
    this.fail(new StoreError("unreachable", "the store is closed"));
    this.worker.terminate();
  }

  private request(req: WriterRequest): Promise<Extract<WriterReply, { kind: "done" }>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  private settle(reply: WriterReply): void {
    const w = this.waiting.get(reply.id);
    if (!w) return;
    this.waiting.delete(reply.id);
    if (reply.kind === "done") w.resolve(reply);
    else w.reject(fromCrossed(reply.error));
  }

  private fail(error: StoreError): void {
    this.dead ??= error;
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}
