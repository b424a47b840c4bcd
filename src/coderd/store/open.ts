// Picks the store for --db by its scheme: sqlite:PATH (embedded) or
// postgres://… / postgresql://… (a shared PostgreSQL, host, user, password
// and database also from the usual PG* environment variables). Failures
// are StoreErrors; a --db the CLI should name as bad usage is `bad_location`.
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { probeDirectory } from "../../config/probe.ts";
import { messageOf, StoreError } from "./errors.ts";
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

/**
 * checkStoreLocation, and for SQLite that start-up could make the database's directory
 * (made and removed again) and open its file (`config check`).
 */
export function probeStoreLocation(db: string): void {
  if (storeKindOf(db) === "postgres") return; // config check opens no connection: start-up reports an unreachable server
  const path = db.slice("sqlite:".length);
  if (path === ":memory:") return;
  try {
    probeDirectory(dirname(path));
  } catch (err) {
    throw new StoreError("bad_location", `cannot create the directory ${dirname(path)} for the database: ${messageOf(err)}`, { cause: err });
  }
  try {
    if (!existsSync(path)) return; // start-up creates it
    if (!statSync(path).isFile()) throw new Error("it is not a file");
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new StoreError("bad_location", `cannot open the database file ${path}: ${messageOf(err)}`, { cause: err });
  }
}

export async function openStore(db: string, opts: SqliteStoreOptions & PostgresStoreOptions = {}): Promise<Store> {
  if (storeKindOf(db) === "postgres") return PostgresStore.open(db, opts);
  return SqliteStore.open(db.slice("sqlite:".length), opts);
}
