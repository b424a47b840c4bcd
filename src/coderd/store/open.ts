// Picks the store for --db: sqlite:PATH now; postgres:// is refused with a
// clear message until its Store implementation lands. Failures are
// StoreErrors; a --db the CLI should name as bad usage is `bad_location`.
import { StoreError } from "./errors.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./store.ts";

/** Throws StoreError("bad_location") unless this build can open `db` (config check runs it too). */
export function checkStoreLocation(db: string): void {
  if (db.startsWith("sqlite:")) return;
  throw new StoreError("bad_location", "only sqlite:PATH is supported so far (PostgreSQL is planned)");
}

export async function openStore(db: string, opts: SqliteStoreOptions = {}): Promise<Store> {
  checkStoreLocation(db);
  return SqliteStore.open(db.slice("sqlite:".length), opts);
}
