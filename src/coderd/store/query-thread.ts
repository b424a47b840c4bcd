// The main thread's side of the SQLite store's query thread
// (query-worker.ts): sends each read there and resolves with its answer.
// The worker keeps the process alive only while a read is outstanding, so
// an idle store never holds up an exit. If the thread dies, outstanding and
// later reads fail with StoreError("unreachable") (worker-calls.ts).
import { StoreError } from "./errors.ts";
import type { QueryArgs, QueryMethod, QueryResult } from "./query-protocol.ts";
import { storeWorkerUrl, WorkerCalls } from "./worker-calls.ts";

const OPEN_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 2_000;

export class QueryThread {
  private constructor(private readonly calls: WorkerCalls) {}

  /** Starts the thread and opens `path` there; throws StoreError when it cannot. */
  static async start(path: string, busyTimeoutMs: number): Promise<QueryThread> {
    const worker = new Worker(storeWorkerUrl("query-worker.ts"), { type: "module" });
    const calls = new WorkerCalls(worker, { name: "the query thread", unrefWhenIdle: true });
    try {
      await calls.call({ kind: "open", path, busyTimeoutMs }, OPEN_TIMEOUT_MS);
    } catch (err) {
      worker.terminate();
      throw err;
    }
    return new QueryThread(calls);
  }

  call<M extends QueryMethod>(method: M, args: QueryArgs<M>): Promise<QueryResult<M>> {
    return this.calls.call({ kind: "query", method, args });
  }

  /** Closes the thread's connection and stops it; outstanding reads fail. */
  async close(): Promise<void> {
    await this.calls.call({ kind: "close" }, CLOSE_TIMEOUT_MS).catch(() => {});
    this.calls.fail(new StoreError("unreachable", "the store is closed"));
  }
}
