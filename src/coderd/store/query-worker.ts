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
import type { FromQueryThread, ToQueryThread } from "./query-protocol.ts";
import { SqliteQueries } from "./sqlite-queries.ts";
import { ROW_MAPPING } from "./sqlite.ts";
import { storeErrorOf } from "./sqlite-errors.ts";

declare function postMessage(message: FromQueryThread): void;
declare let onmessage: ((e: MessageEvent<ToQueryThread>) => void) | null;

const CACHE_KIB = 32 * 1024;
const MMAP_BYTES = 256 * 1024 * 1024;

let db: SqliteDatabase | undefined;
let queries: SqliteQueries | undefined;
/** Messages are handled one after another even though opening is async. */
let turn: Promise<void> = Promise.resolve();

async function handle(m: ToQueryThread): Promise<void> {
  if (m.kind === "open") {
    try {
      db = await openSqlite(m.path);
      db.exec(`PRAGMA busy_timeout = ${m.busyTimeoutMs}`);
      db.exec("PRAGMA query_only = ON");
      db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
      db.exec(`PRAGMA mmap_size = ${MMAP_BYTES}`);
      queries = new SqliteQueries(db, ROW_MAPPING);
      postMessage({ kind: "opened" });
    } catch (err) {
      const e = storeErrorOf(err, `the query thread cannot open ${m.path}`, true);
      postMessage({ kind: "error", id: 0, failure: e.failure, message: e.message });
    }
    return;
  }
  if (m.kind === "close") {
    db?.close();
    db = queries = undefined;
    postMessage({ kind: "closed" });
    return;
  }
  try {
    if (!queries) throw new Error("the query thread's database is closed");
    const read = queries[m.method] as (...args: unknown[]) => Promise<unknown>;
    postMessage({ kind: "result", id: m.id, value: await read.apply(queries, m.args) });
  } catch (err) {
    const e = storeErrorOf(err, `${m.method} failed`);
    postMessage({ kind: "error", id: m.id, failure: e.failure, message: e.message });
  }
}

onmessage = (e: MessageEvent<ToQueryThread>) => {
  turn = turn.then(() => handle(e.data));
};
