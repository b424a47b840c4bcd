// The SQLite writer thread: its own connection to the store's file, taking
// the ingest transactions (group commit, fsync included) and the consumer
// cursor moves off the main thread, which meanwhile goes on reading
// requests, emitting lines and answering queries. It is the store's only
// writer of records and cursors, so record ids still increase in commit
// order. It answers each request in order, after its transaction returned.
import { openSqlite, type SqliteDatabase } from "../../runtime/adapter.ts";
import { StoreError } from "./errors.ts";
import { storeErrorOf } from "./sqlite-errors.ts";
import { BatchWriter } from "./sqlite-insert.ts";
import { type CrossedError, unpackBatches, type WriterReply, type WriterRequest } from "./sqlite-writer-protocol.ts";

declare function postMessage(message: WriterReply): void;
declare let onmessage: ((e: MessageEvent<WriterRequest>) => void) | null;
declare function close(): void;

let db: SqliteDatabase | undefined;
let writer: BatchWriter | undefined;

const crossed = (err: unknown, doing: string): CrossedError => {
  const e = err instanceof StoreError ? err : storeErrorOf(err, doing);
  return { failure: e.failure, message: e.message };
};

async function handle(req: WriterRequest): Promise<WriterReply> {
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
      return { kind: "done", id: req.id };
    }
    case "commit": {
      const outcomes = writer!.commit(unpackBatches(req.batches)).map((o) => (o.ok ? o : { ok: false as const, error: crossed(o.error, "insert failed") }));
      return { kind: "done", id: req.id, outcomes };
    }
    case "cursor":
      writer!.advanceCursor(req.consumer, req.lastId);
      return { kind: "done", id: req.id };
    case "close":
      writer?.close();
      db?.close();
      db = writer = undefined;
      return { kind: "done", id: req.id };
  }
}

// Requests are handled one at a time, in order (each handler is synchronous after "open").
let chain: Promise<void> = Promise.resolve();
onmessage = (e) => {
  const req = e.data;
  chain = chain.then(async () => {
    try {
      postMessage(await handle(req));
    } catch (err) {
      postMessage({ kind: "failed", id: req.id, error: crossed(err, req.kind === "open" ? "cannot open the database" : "write failed") });
    }
    if (req.kind === "close") close();
  });
};
