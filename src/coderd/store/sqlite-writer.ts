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
import { type BatchWritten, BatchWriter } from "./sqlite-insert.ts";
import { type CrossedOutcome, packBatches, type WriterSettings } from "./sqlite-writer-protocol.ts";
import { storeWorkerUrl, WorkerCalls } from "./worker-calls.ts";
import type { NewBatch } from "./store.ts";

export interface Writer {
  commit(batches: NewBatch[]): Outcome<BatchWritten>[] | Promise<Outcome<BatchWritten>[]>;
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

export class WorkerWriter implements Writer {
  private constructor(
    private readonly worker: Worker,
    private readonly calls: WorkerCalls,
  ) {}

  /** Ends the thread as a crash would (tests). */
  kill(): void {
    this.worker.terminate();
  }

  /** Starts the thread and opens the file there (the schema is already migrated). */
  static async start(settings: WriterSettings): Promise<WorkerWriter> {
    const worker = new Worker(storeWorkerUrl("sqlite-writer-worker.ts"), { type: "module" });
    const calls = new WorkerCalls(worker, { name: "the SQLite writer thread" });
    try {
      await calls.call({ kind: "open", settings });
    } catch (err) {
      worker.terminate();
      throw err;
    }
    return new WorkerWriter(worker, calls);
  }

  async commit(batches: NewBatch[]): Promise<Outcome<BatchWritten>[]> {
    const outcomes = await this.calls.call<CrossedOutcome[]>({ kind: "commit", batches: packBatches(batches) });
    return outcomes.map((o) => (o.ok ? o : { ok: false, error: new StoreError(o.error.failure, o.error.message) }));
  }

  async advanceCursor(consumer: string, lastId: number): Promise<void> {
    await this.calls.call({ kind: "cursor", consumer, lastId });
  }

  check(): void {
    if (this.calls.dead) throw this.calls.dead;
  }

  async close(): Promise<void> {
    await this.calls.call({ kind: "close" }).catch(() => {});
    this.calls.fail(new StoreError("unreachable", "the store is closed"));
  }
}
