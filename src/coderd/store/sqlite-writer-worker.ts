// The SQLite writer thread: its own connection to the store's file, taking
// the ingest transactions (group commit, fsync included) and the consumer
// cursor moves off the main thread, which meanwhile goes on reading
// requests, emitting lines and answering queries. It is the store's only
// writer of records and cursors, so record ids still increase in commit
// order. It answers each request in order, after its transaction returned.
import { openSqlite, type SqliteDatabase } from "../../runtime/adapter.ts";
import { storeErrorOf } from "./sqlite-errors.ts";
import { BatchWriter } from "./sqlite-insert.ts";
import { type CrossedOutcome, unpackBatches, type WriterRequest } from "./sqlite-writer-protocol.ts";
import { serveCalls } from "./worker-serve.ts";

let db: SqliteDatabase | undefined;
let writer: BatchWriter | undefined;

async function handle(req: WriterRequest): Promise<CrossedOutcome[] | undefined> {
  switch (req.kind) {
    case "open": {
      const { path, busyTimeoutMs, synchronous } = req.settings;
      db = await openSqlite(path);
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      db.exec(`PRAGMA synchronous = ${synchronous}`);
      // Each batch of a group commit is a savepoint, and a savepoint keeps a
      // statement journal: in memory, not in a temp file (micro.sqlite_insert
      // 40k → 70k rows/s). It holds one batch's changed pages at most.
      db.exec("PRAGMA temp_store = MEMORY");
      writer = new BatchWriter(db, synchronous);
      return undefined;
    }
    case "commit":
      return writer!.commit(unpackBatches(req.batches)).map((o) => {
        if (o.ok) return o;
        const e = storeErrorOf(o.error, "insert failed");
        return { ok: false, error: { failure: e.failure, message: e.message } };
      });
    case "cursor":
      writer!.advanceCursor(req.consumer, req.lastId);
      return undefined;
    case "close":
      writer?.close();
      db?.close();
      db = writer = undefined;
      return undefined;
  }
}

serveCalls(handle, (req) => ({ doing: req.kind === "open" ? "cannot open the database" : "write failed" }));
