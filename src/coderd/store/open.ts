// Picks the store for --db: sqlite:PATH now; postgres:// is refused with a
// clear message until its Store implementation lands. Failures are
// StoreErrors; a --db the CLI should name as bad usage is `bad_location`.
import { StoreError } from "./errors.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./store.ts";

export async function openStore(db: string, opts: SqliteStoreOptions = {}): Promise<Store> {
  if (db.startsWith("sqlite:")) return SqliteStore.open(db.slice("sqlite:".length), opts);
  throw new StoreError("bad_location", "only sqlite:PATH is supported so far (PostgreSQL is planned)");
}
