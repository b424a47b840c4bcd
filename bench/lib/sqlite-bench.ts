// What the SQLite writer benches (writer-costs.ts, sqlite-floor.ts) share:
// the bench's usual records as ingest hands them to the store, and a fresh
// database with the schema migrated, opened the way the writer thread
// opens it, removed afterwards.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasHttpRequest, toNewRecord } from "../../src/coderd/ingest.ts";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import type { NewRecord } from "../../src/coderd/store/store.ts";
import { openSqlite, type SqliteDatabase } from "../../src/runtime/adapter.ts";
import { sampleRequest } from "./records.ts";

/** `n` of the bench's usual records (bench/lib/records.ts) of a new session, from sequence number `from`. */
export function recordsOf(n: number, from: number): NewRecord[] {
  return sampleRequest(randomUUID(), from, n).logs.filter(hasHttpRequest).map(toNewRecord);
}

/**
 * Runs `use` on a new, migrated database (synchronous as given,
 * temp_store=MEMORY as the writer thread sets it), then closes and removes it.
 */
export async function withFreshDatabase<T>(synchronous: "NORMAL" | "FULL", use: (db: SqliteDatabase) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "bench-sqlite-"));
  const path = join(dir, "coderd.db");
  try {
    await (await SqliteStore.open(path)).close(); // the schema, migrated
    const db = await openSqlite(path);
    try {
      db.exec(`PRAGMA synchronous = ${synchronous}`);
      db.exec("PRAGMA temp_store = MEMORY");
      return await use(db);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
