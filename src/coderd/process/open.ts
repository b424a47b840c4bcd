// Picks the exec-record store for --db, as store/open.ts does for the
// boundary store: sqlite:PATH (the same file, its own connection); any
// other --db is refused by the same rule, StoreError("bad_location").
import { checkStoreLocation } from "../store/open.ts";
import { type ProcessLogStore, SqliteProcessLogStore } from "./store.ts";

export async function openProcessLogStore(db: string, busyTimeoutMs?: number): Promise<ProcessLogStore> {
  checkStoreLocation(db);
  return SqliteProcessLogStore.open(db.slice("sqlite:".length), busyTimeoutMs);
}
