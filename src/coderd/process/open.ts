// Picks the exec-record store for --db, as store/open.ts does for the
// boundary store: sqlite:PATH (the same file, its own connection) or
// postgres://… (the same database, its own pools); any other --db is
// refused by the same rule, StoreError("bad_location").
import { storeKindOf } from "../store/open.ts";
import { PostgresProcessLogStore } from "./postgres-store.ts";
import { type ProcessLogStore, SqliteProcessLogStore } from "./store.ts";

export async function openProcessLogStore(db: string, busyTimeoutMs?: number): Promise<ProcessLogStore> {
  if (storeKindOf(db) === "postgres") return PostgresProcessLogStore.open(db);
  return SqliteProcessLogStore.open(db.slice("sqlite:".length), busyTimeoutMs);
}
