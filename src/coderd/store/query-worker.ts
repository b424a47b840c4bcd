// The SQLite store's query thread: a second connection to the same file,
// read-only (PRAGMA query_only), answering the query API's and console's
// reads (SqliteQueries) off the main thread. With WAL a reader never waits
// for the writer nor the writer for it, so a slow query cannot hold up
// ingest, and a query sees every batch committed before it was asked.
// One query at a time, in arrival order. The connection reads through a
// memory map and keeps a larger page cache than the writer's: aggregates
// scan the whole rollup (about 50,000 rows, 6 MiB, at 10 million records
// over 30 days), which the default 2 MiB cache cannot hold.
import { openSqlite, type SqliteDatabase } from "../../runtime/adapter.ts";
import type { ToQueryThread } from "./query-protocol.ts";
import { SqliteQueries } from "./sqlite-queries.ts";
import { ROW_MAPPING } from "./sqlite.ts";
import { serveCalls } from "./worker-serve.ts";

const CACHE_KIB = 32 * 1024;
const MMAP_BYTES = 256 * 1024 * 1024;

let db: SqliteDatabase | undefined;
let queries: SqliteQueries | undefined;

async function handle(m: ToQueryThread): Promise<unknown> {
  switch (m.kind) {
    case "open":
      db = await openSqlite(m.path);
      db.exec(`PRAGMA busy_timeout = ${m.busyTimeoutMs}`);
      db.exec("PRAGMA query_only = ON");
      db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
      db.exec(`PRAGMA mmap_size = ${MMAP_BYTES}`);
      queries = new SqliteQueries(db, ROW_MAPPING);
      return undefined;
    case "close":
      db?.close();
      db = queries = undefined;
      return undefined;
    case "query": {
      if (!queries) throw new Error("the query thread's database is closed");
      const read = queries[m.method] as (...args: unknown[]) => Promise<unknown>;
      return read.apply(queries, m.args);
    }
  }
}

serveCalls(handle, (m) =>
  m.kind === "open" ? { doing: `the query thread cannot open ${m.path}`, opening: true } : { doing: `${m.kind === "query" ? m.method : m.kind} failed` });
