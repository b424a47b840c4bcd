// Picks the store for --db: sqlite:PATH now; postgres:// is refused with a
// clear message until its Store implementation lands. Failures are
// StoreErrors; a --db the CLI should name as bad usage is `bad_location`.
import { StoreError } from "./errors.ts";
import { probeLocation, SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./store.ts";

/** Throws StoreError("bad_location") unless this build can open `db`. */
export function checkStoreLocation(db: string): void {
  if (db.startsWith("sqlite:")) return;
  throw new StoreError("bad_location", "only sqlite:PATH is supported so far (PostgreSQL is planned)");
}

/** checkStoreLocation, and that start-up could make the database's directory and file (config check). */
export function probeStoreLocation(db: string): void {
  checkStoreLocation(db);
  probeLocation(db.slice("sqlite:".length));
}

export async function openStore(db: string, opts: SqliteStoreOptions = {}): Promise<Store> {
  checkStoreLocation(db);
  return SqliteStore.open(db.slice("sqlite:".length), opts);
}
