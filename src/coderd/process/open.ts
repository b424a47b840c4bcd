// Picks the exec-record store for --db, as store/open.ts does for the
// boundary store: sqlite:PATH (the same file, its own connection); with
// PostgreSQL exec records are not stored yet (unsupported.ts); any other
// --db is refused by the same rule, StoreError("bad_location").
import { storeKindOf } from "../store/open.ts";
import { type ProcessLogStore, SqliteProcessLogStore } from "./store.ts";
import { noProcessLogStore } from "./unsupported.ts";

export async function openProcessLogStore(db: string, busyTimeoutMs?: number): Promise<ProcessLogStore> {
  if (storeKindOf(db) === "postgres") return noProcessLogStore;
  return SqliteProcessLogStore.open(db.slice("sqlite:".length), busyTimeoutMs);
}
