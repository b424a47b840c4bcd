// SQLite driver errors as StoreErrors, by SQLite result code, never by
// message (bun:sqlite and node:sqlite name the code differently).
import { messageOf, StoreError, type StoreFailure } from "./errors.ts";

/** Primary SQLite result codes we tell apart (https://sqlite.org/rescode.html). */
const SQLITE_CORRUPT = 11;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

/** The SQLite result code of a driver error: `errno` on bun:sqlite, `errcode` on node:sqlite. */
function sqliteCode(err: unknown): number | undefined {
  const e = err as { errno?: unknown; errcode?: unknown } | null;
  const code = typeof e?.errno === "number" ? e.errno : typeof e?.errcode === "number" ? e.errcode : undefined;
  return code === undefined ? undefined : code & 0xff;
}

/** A driver failure as a StoreError; `opening` makes a file that cannot be opened a bad location. */
export function storeErrorOf(err: unknown, doing: string, opening = false): StoreError {
  if (err instanceof StoreError) return err;
  const code = sqliteCode(err);
  let failure: StoreFailure = "unreachable";
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) failure = "corrupt";
  else if (code === SQLITE_CANTOPEN && opening) failure = "bad_location";
  return new StoreError(failure, `${doing}: ${messageOf(err)}`, { cause: err });
}
