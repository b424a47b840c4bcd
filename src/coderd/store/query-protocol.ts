// Messages from the SQLite store (main thread, query-thread.ts) to its
// query thread (query-worker.ts); the replies are worker-calls.ts's.
// Arguments and results are plain data (structured clone keeps Dates).
import type { SqliteQueries } from "./sqlite-queries.ts";

/** The reads the query thread answers: SqliteQueries' public methods. */
export type QueryMethod =
  | "searchLogs" | "logsAfterId" | "lastLogId" | "workspaceStats" | "top" | "timeseries"
  | "listSessions" | "sessionSummaries" | "sessionSummary" | "agentsLastSeen";

export type QueryArgs<M extends QueryMethod> = Parameters<SqliteQueries[M]>;
export type QueryResult<M extends QueryMethod> = Awaited<ReturnType<SqliteQueries[M]>>;

export type ToQueryThread =
  | { kind: "open"; id: number; path: string; busyTimeoutMs: number }
  | { kind: "query"; id: number; method: QueryMethod; args: unknown[] }
  | { kind: "close"; id: number };
