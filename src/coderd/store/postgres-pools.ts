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
//
// A connection whose backend is cut (pg_terminate_backend, an idle-session
// killer, a pooler's restart) can leave postgres.js 3.4.9 with a query that
// never settles (test/coderd/store/postgres-cut-connections.test.ts: within
// seconds with named prepared statements, within a few cuts without), and
// a line emitter waiting on it would stop a replica's lines for good. So
// every call has a deadline (PgPoolOptions.callTimeoutS): past it the call
// fails as unreachable and its pool is replaced by a new one (the old one
// is ended without waiting: its end can hang too). Statements are not
// prepared by name (prepare: false), which makes the hang much rarer; each
// is parsed per call, still in one round trip.
//
// postgres.js would fetch the array types on a pool's first connection and
// serialize array parameters by them. When that connection was cut during
// the fetch, the pool went on without them and sent every array as "1,2,3",
// which PostgreSQL refuses ("malformed array literal"): every insert and
// claim of that pool failed until its next replacement (seen in the cut
// test: 78 inserts in a row, 6.7 s). So the types are not fetched
// (fetch_types: false) and array parameters go as array literals written
// here (pgParam); the SQL casts each (`?::bigint[]`). A rejection the
// driver leaves unhandled when a connection is lost (Bun ends a process on
// one) is still ignored, and only such (guardLostConnectionRejections).
import postgres, { type Sql } from "postgres";
import { redactUrlPasswords } from "../../config/redact.ts";
import { messageOf, StoreError, type StoreFailure } from "./errors.ts";
import { migratePostgres } from "./postgres-migrations.ts";

export interface PgPoolOptions {
  /** Connections in the records' pool (default 10). */
  maxConnections?: number;
  /** Seconds a connection attempt may take (default 5). */
  connectTimeoutS?: number;
  /** Seconds a call may take before it is given up and its pool replaced (default 30). */
  callTimeoutS?: number;
}

export type PoolName = "sql" | "lines";

/** The two pools, each replaced by a new one when a call on it does not settle in time. */
export interface PgPools {
  sql: Sql;
  lines: Sql;
  /** Makes a pool anew. */
  make: Record<PoolName, () => Sql>;
  callTimeoutMs: number;
}

/** SQLSTATE classes and codes we tell apart (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const BAD_LOCATION_CODES = new Set(["28P01", "28000", "3D000"]);
const CORRUPT_CODES = new Set(["XX001", "XX002"]);

/** `?` placeholders as PostgreSQL's `$1, $2, …` (our SQL has no `?` inside literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * A parameter as PostgreSQL takes it without the driver's type
 * information: an array becomes an array literal, every element quoted
 * (`{"1","2"}`, null as NULL; the SQL casts it), anything else is as it is.
 */
export function pgParam(value: unknown): unknown {
  return Array.isArray(value) ? pgArrayLiteral(value) : value;
}

function pgArrayLiteral(values: readonly unknown[]): string {
  const element = (v: unknown) =>
    v === null || v === undefined ? "NULL" : `"${(v instanceof Date ? v.toISOString() : String(v)).replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return `{${values.map(element).join(",")}}`;
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

/** Error codes of a lost connection: postgres.js's own, the socket's, and SQLSTATE class 57P (the server ending the backend). */
const LOST_CONNECTION_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "ECONNRESET", "EPIPE", "ECONNREFUSED"]);

function isLostConnection(reason: unknown): boolean {
  const code = String((reason as { code?: unknown } | null)?.code ?? "");
  return LOST_CONNECTION_CODES.has(code) || code.startsWith("57P");
}

let guarding = false;

/**
 * From the first pool on, an unhandled rejection that is a lost PostgreSQL
 * connection is ignored; any other still ends the process, as it would
 * without this listener (it is thrown again, as an uncaught exception).
 */
function guardLostConnectionRejections(): void {
  if (guarding) return;
  guarding = true;
  process.on("unhandledRejection", (reason) => {
    if (isLostConnection(reason)) return;
    throw reason;
  });
}

/** Both pools, with the database migrated to this binary's schema (or refused if newer). */
export async function openPgPools(url: string, opts: PgPoolOptions = {}): Promise<PgPools> {
  guardLostConnectionRejections();
  const pool = (max: number, connection: Record<string, string> = {}) => () =>
    postgres(url, { max, connect_timeout: opts.connectTimeoutS ?? 5, onnotice: () => {}, transform: { undefined: null }, connection, prepare: false, fetch_types: false });
  let pools: PgPools;
  try {
    const make = { sql: pool(opts.maxConnections ?? 10), lines: pool(1, { synchronous_commit: "off" }) };
    pools = { sql: make.sql(), lines: make.lines(), make, callTimeoutMs: (opts.callTimeoutS ?? 30) * 1000 };
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

/**
 * Runs SQL written with `?` placeholders on pool `pool`; failures become
 * StoreErrors saying what was being done. A call that has not settled
 * within the deadline fails as unreachable, and the pool is replaced.
 */
export async function runPg(pools: PgPools, pool: PoolName, text: string, params: unknown[], doing: string): Promise<Record<string, unknown>[]> {
  const on = pools[pool];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), pools.callTimeoutMs)));
  try {
    const call = on.unsafe(numberPlaceholders(text), params.map(pgParam) as never[]).then((rows) => rows as unknown as Record<string, unknown>[]);
    const answer = await Promise.race([call, deadline]);
    if (answer !== "late") return answer;
    call.catch(() => {}); // it may still fail, later
    replacePool(pools, pool, on);
    throw new StoreError("unreachable", `${doing}: no answer from PostgreSQL within ${pools.callTimeoutMs / 1000} s; its connections are replaced`);
  } catch (err) {
    throw pgStoreError(err, doing);
  } finally {
    clearTimeout(timer);
  }
}

/** A new pool in place of `stale` (unless already replaced); the old one is ended, not waited for. */
function replacePool(pools: PgPools, pool: PoolName, stale: Sql): void {
  if (pools[pool] !== stale) return;
  pools[pool] = pools.make[pool]();
  stale.end({ timeout: 0 }).catch(() => {});
}
