// Messages between the SQLite store (main thread, query-thread.ts) and its
// query thread (query-worker.ts). Arguments and results are plain data
// (structured clone keeps Dates); a failure crosses as a StoreError's
// reason and message.
import type { StoreFailure } from "./errors.ts";
import type { SqliteQueries } from "./sqlite-queries.ts";

/** The reads the query thread answers: SqliteQueries' public methods. */
export type QueryMethod =
  | "searchLogs" | "logsAfterId" | "lastLogId" | "workspaceStats" | "top" | "timeseries"
  | "listSessions" | "sessionSummaries" | "sessionSummary" | "agentsLastSeen";

export type QueryArgs<M extends QueryMethod> = Parameters<SqliteQueries[M]>;
export type QueryResult<M extends QueryMethod> = Awaited<ReturnType<SqliteQueries[M]>>;

export type ToQueryThread =
  | { kind: "open"; path: string; busyTimeoutMs: number }
  | { kind: "query"; id: number; method: QueryMethod; args: unknown[] }
  | { kind: "close" };

export type FromQueryThread =
  | { kind: "opened" }
  | { kind: "closed" }
  | { kind: "result"; id: number; value: unknown }
  /** id 0: opening failed. */
  | { kind: "error"; id: number; failure: StoreFailure; message: string };
