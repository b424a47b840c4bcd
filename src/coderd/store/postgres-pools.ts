// Connecting to PostgreSQL for coderd's stores (postgres.ts for boundary
// records, process/postgres-store.ts for exec records), and what its
// failures become. Client: porsager's `postgres` package (pure JavaScript
// over node:net, so it runs under Bun, Deno and in the compiled binary);
// only the PostgreSQL store files import it, and only here do its errors
// become StoreError, by SQLSTATE or connection error code.
//
// Two pools per store: `sql` for records, queries and retention, committed
// durably; `lines`, one connection for the consumers' claims and cursor
// moves, committing without waiting for its WAL flush (synchronous_commit
// off, as SQLite's cursor moves skip their own fsync). A crash can forget
// its last claims or moves, so some lines are written again, never lost (a
// later durable commit flushes them first); and the lines never wait
// behind ingest for a connection.
import postgres, { type Sql } from "postgres";
import { redactUrlPasswords } from "../../config/redact.ts";
import { messageOf, StoreError, type StoreFailure } from "./errors.ts";
import { migratePostgres } from "./postgres-migrations.ts";

export interface PgPoolOptions {
  /** Connections in the records' pool (default 10). */
  maxConnections?: number;
  /** Seconds a connection attempt may take (default 5). */
  connectTimeoutS?: number;
}

export interface PgPools {
  sql: Sql;
  lines: Sql;
}

/** SQLSTATE classes and codes we tell apart (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const BAD_LOCATION_CODES = new Set(["28P01", "28000", "3D000"]);
const CORRUPT_CODES = new Set(["XX001", "XX002"]);

/** `?` placeholders as PostgreSQL's `$1, $2, …` (our SQL has no `?` inside literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A driver failure as a StoreError; `opening` makes a refused login or a missing database a bad location. */
export function pgStoreError(err: unknown, doing: string, opening = false): StoreError {
  if (err instanceof StoreError) return err;
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  let failure: StoreFailure = "unreachable";
  if (opening && BAD_LOCATION_CODES.has(code)) failure = "bad_location";
  else if (CORRUPT_CODES.has(code)) failure = "corrupt";
  return new StoreError(failure, redactUrlPasswords(`${doing}: ${messageOf(err)}`), { cause: err });
}

/** Both pools, with the database migrated to this binary's schema (or refused if newer). */
export async function openPgPools(url: string, opts: PgPoolOptions = {}): Promise<PgPools> {
  const pool = (max: number, connection: Record<string, string> = {}) =>
    postgres(url, { max, connect_timeout: opts.connectTimeoutS ?? 5, onnotice: () => {}, transform: { undefined: null }, connection });
  let pools: PgPools;
  try {
    pools = { sql: pool(opts.maxConnections ?? 10), lines: pool(1, { synchronous_commit: "off" }) };
  } catch (err) {
    throw new StoreError("bad_location", `cannot use the database URL ${redactUrlPasswords(url)}: ${messageOf(err)}`, { cause: err });
  }
  try {
    await migratePostgres(pools.sql);
  } catch (err) {
    await closePgPools(pools, 1);
    throw pgStoreError(err, `cannot open the database ${redactUrlPasswords(url)}`, true);
  }
  return pools;
}

/** Ends both pools, waiting at most `timeoutS` (a connection the server dropped may never answer its goodbye). */
export async function closePgPools(p: PgPools, timeoutS = 2): Promise<void> {
  await Promise.all([p.sql.end({ timeout: timeoutS }), p.lines.end({ timeout: timeoutS })]).catch(() => {});
}

/** Runs SQL written with `?` placeholders on `on`; failures become StoreErrors saying what was being done. */
export async function runPg(on: Sql, text: string, params: unknown[], doing: string): Promise<Record<string, unknown>[]> {
  try {
    return (await on.unsafe(numberPlaceholders(text), params as never[], { prepare: true })) as unknown as Record<string, unknown>[];
  } catch (err) {
    throw pgStoreError(err, doing);
  }
}
