// Picks the store for --db by its scheme: sqlite:PATH (embedded) or
// postgres://… / postgresql://… (a shared PostgreSQL, host, user, password
// and database also from the usual PG* environment variables). Failures
// are StoreErrors; a --db the CLI should name as bad usage is `bad_location`.
import { StoreError } from "./errors.ts";
import { PostgresStore, type PostgresStoreOptions } from "./postgres.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./store.ts";

export type StoreKind = "sqlite" | "postgres";

/** Which store `db` names; throws StoreError("bad_location") for anything else (config check runs it too). */
export function storeKindOf(db: string): StoreKind {
  if (db.startsWith("sqlite:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(db)) return "postgres";
  throw new StoreError("bad_location", "must be sqlite:PATH or postgres://user:password@host:port/database");
}

/** Throws StoreError("bad_location") unless this build can open `db`. */
export function checkStoreLocation(db: string): void {
  storeKindOf(db);
}

export async function openStore(db: string, opts: SqliteStoreOptions & PostgresStoreOptions = {}): Promise<Store> {
  if (storeKindOf(db) === "postgres") return PostgresStore.open(db, opts);
  return SqliteStore.open(db.slice("sqlite:".length), opts);
}
