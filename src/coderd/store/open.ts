// Picks the store for --db: sqlite:PATH now; postgres:// is refused with a
// clear message until its Store implementation lands. Failures are
// StoreErrors; a --db the CLI should name as bad usage is `bad_location`.
import { StoreError } from "./errors.ts";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { probeDirectory } from "../../config/probe.ts";
import { messageOf } from "./errors.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./store.ts";

/** Throws StoreError("bad_location") unless this build can open `db`. */
export function checkStoreLocation(db: string): void {
  if (db.startsWith("sqlite:")) return;
  throw new StoreError("bad_location", "only sqlite:PATH is supported so far (PostgreSQL is planned)");
}

/**
 * checkStoreLocation, and that start-up could make the database's directory
 * (made and removed again) and open its file (`config check`).
 */
export function probeStoreLocation(db: string): void {
  checkStoreLocation(db);
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

export async function openStore(db: string, opts: SqliteStoreOptions = {}): Promise<Store> {
  checkStoreLocation(db);
  return SqliteStore.open(db.slice("sqlite:".length), opts);
}
