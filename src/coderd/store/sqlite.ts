// The SQLite store: one file, WAL mode. Writes (ingest batches and consumer
// cursor moves) run on a writer thread with its own connection
// (sqlite-writer.ts, sqlite-insert.ts), so SQLite's statements and the
// commit's fsync use the second core; the purge and the few reads not
// listed below use this connection on the main thread (WAL: readers never
// wait for the writer). Batches that arrive together share one transaction (group
// commit, ./group-commit.ts; each batch in its own savepoint). The COMMIT
// returning is what makes a batch's records durable — WAL with
// synchronous=FULL fsyncs the log at every commit, so an acknowledged batch
// survives power loss too — and only then does the ingest path acknowledge.
//
// Consumer cursors (table consumer_cursors) are written without an fsync of
// their own (synchronous=NORMAL for that one statement): a crash of the
// process keeps them, a power loss may take the newest one back, and the
// consumer then delivers those records again. Record ids are SQLite rowids:
// with all writes serialised by the write lock they increase in commit order,
// and since the purge never deletes the newest record, they are never reused.
//
// Reads of the query API and console (sqlite-queries.ts) run on a third,
// read-only connection in a worker thread (query-thread.ts), so a long
// aggregate never holds up ingest on this thread; with WAL that reader sees
// every committed batch and blocks no writer.
//
// Files: a new database is created 0600 (owner only); SQLite gives its -wal
// and -shm files the database file's mode. Driver errors become StoreError
// (sqlite-errors.ts), by SQLite result code, never by message.
import { closeSync, constants, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { openSqlite, type SqliteDatabase, type SqliteStatement } from "../../runtime/adapter.ts";
import { messageOf, StoreError } from "./errors.ts";
import { migrate } from "./migrations.ts";
import { GroupCommit } from "./group-commit.ts";
import { storeErrorOf } from "./sqlite-errors.ts";
import { StatementCache } from "./statement-cache.ts";
import { type BatchWritten, IDENTITY_COLUMNS } from "./sqlite-insert.ts";
import { InlineWriter, WorkerWriter, type Writer } from "./sqlite-writer.ts";
import { newestFirstPage, Where } from "./sql-parts.ts";
import type { QueryArgs, QueryMethod, QueryResult } from "./query-protocol.ts";
import { QueryThread } from "./query-thread.ts";
import { type RowMapping, SqliteQueries } from "./sqlite-queries.ts";
import type {
  AgentLastSeen, CommitListener, LogFilter, LogSearch, SessionSummary, TimeseriesPoint, TimeseriesQuery, TopQuery,
  InsertResult, LogQuery, NewBatch, Page, SessionIdentity, SessionLogsQuery, SessionQuery, Store, StoredRecord,
  StoredSession, TimeWindow, TopDeniedQuery, WorkspaceStats,
} from "./store.ts";

export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
  synchronous?: "NORMAL" | "FULL";
  /** Where ingest transactions and cursor moves run: a writer thread (default for a file) or this connection. */
  writer?: "worker" | "inline";
  /** Told after each committed ingest transaction how many batches it held (a metric). */
  onCommit?: (batches: number) => void;
  /**
   * Answer the query API's and console's reads on a read-only connection in
   * a worker thread (query-worker.ts), so they never hold up ingest.
   * Default: on for a file, off for ":memory:" (a second connection would
   * see another database).
   */
  queryThread?: boolean;
}

const SESSION_IDENTITY = IDENTITY_COLUMNS.split(", ").map((c) => `s.${c}`).join(", ");
/** Records joined with their session, which carries the identity. */
export const LOG_SELECT = `SELECT l.id, s.session_id, l.sequence_number, l.allowed, l.http_method, l.http_url, l.http_host,
  l.matched_rule, l.event_time, l.captured_at, ${SESSION_IDENTITY}
  FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref`;
export const SESSION_COLUMNS = `id, session_id, ${IDENTITY_COLUMNS}, started_at, updated_at`;
const LOG_INSERT_COLUMNS = "session_ref, dedup, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at";
/** Rows per INSERT statement: fewer crossings into SQLite, measured best near 50. */
const ROWS_PER_INSERT = 50;

/** Makes the database's directory and an empty 0600 file, unless they exist. */
function prepareLocation(path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError("bad_location", `cannot create the directory ${dir} for the database: ${messageOf(err)}`, { cause: err });
  }
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
  } catch (err) {
    throw new StoreError("bad_location", `cannot create the database file ${path}: ${messageOf(err)}`, { cause: err });
  }
}

type Row = Record<string, unknown>;

const iso = (ms: unknown) => new Date(Number(ms)).toISOString();

function toIdentity(r: Row): SessionIdentity {
  return {
    agent_id: String(r.agent_id),
    agent_name: String(r.agent_name),
    workspace_id: String(r.workspace_id),
    workspace_name: String(r.workspace_name),
    owner_id: String(r.owner_id),
    owner_name: String(r.owner_name),
    template_id: String(r.template_id),
    template_version_id: String(r.template_version_id),
    confined_process_name: String(r.confined_process_name),
  };
}

/** A row of records joined with their session (LOG_SELECT). */
export function toRecord(r: Row): StoredRecord {
  return recordOf(r, sessionOfRow(r), iso(r.captured_at));
}

/** A session's part of each of its records, read once per session. */
export interface SessionOfRecords {
  session_id: string;
  identity: SessionIdentity;
}

/** boundary_logs columns read apart from their session (recordsWithSessions). */
export const LOG_COLUMNS = "id, session_ref, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at";

/** A boundary_sessions row (SESSION_COLUMNS) as its records' part. */
export function sessionOfRow(row: Row): SessionOfRecords {
  return { session_id: String(row.session_id), identity: toIdentity(row) };
}

/**
 * Records from LOG_COLUMNS rows, each session's part from `sessionOf` (which
 * looks each up once), and a batch's shared capture time formatted once per
 * run of equal values.
 */
export function recordsWithSessions(rows: Row[], sessionOf: (ref: unknown) => SessionOfRecords): StoredRecord[] {
  let capturedMs: unknown;
  let capturedAt = "";
  return rows.map((row) => {
    if (row.captured_at !== capturedMs) capturedAt = iso((capturedMs = row.captured_at));
    return recordOf(row, sessionOf(row.session_ref), capturedAt);
  });
}

/** The records a committed batch stored, as reading them back would give them; null when the writer could not say. */
function committedRecords(batch: NewBatch, result: BatchWritten): StoredRecord[] | null {
  const committed = result.committed;
  if (!committed) return null;
  const { session_id, ...identity } = committed.session;
  const capturedAt = batch.capturedAt.toISOString();
  return result.stored.map((i, k) => {
    const r = batch.records[i]!;
    return {
      id: committed.ids[k]!, session_id, sequence_number: r.sequenceNumber, decision: r.allowed ? "allow" : "deny",
      http_method: r.httpMethod, http_url: r.httpUrl, domain: r.httpHost, matched_rule: r.matchedRule,
      event_time: r.eventTime, captured_at: capturedAt, ...identity,
    };
  });
}

/** A record from its boundary_logs row and its session's part, read once per session. */
function recordOf(r: Row, s: SessionOfRecords, capturedAt: string): StoredRecord {
  const id = s.identity;
  return {
    id: Number(r.id),
    session_id: s.session_id,
    sequence_number: Number(r.sequence_number),
    decision: Number(r.allowed) === 1 ? "allow" : "deny",
    http_method: String(r.http_method),
    http_url: String(r.http_url),
    domain: String(r.http_host),
    matched_rule: String(r.matched_rule),
    event_time: String(r.event_time),
    captured_at: capturedAt,
    agent_id: id.agent_id,
    agent_name: id.agent_name,
    workspace_id: id.workspace_id,
    workspace_name: id.workspace_name,
    owner_id: id.owner_id,
    owner_name: id.owner_name,
    template_id: id.template_id,
    template_version_id: id.template_version_id,
    confined_process_name: id.confined_process_name,
  };
}

export function toSession(r: Row): StoredSession {
  return {
    session_id: String(r.session_id),
    ...toIdentity(r),
    started_at: iso(r.started_at),
    updated_at: iso(r.updated_at),
  };
}

/** How SqliteQueries reads rows, wherever it runs (here or in the query thread). */
export const ROW_MAPPING: RowMapping = { logSelect: LOG_SELECT, toRecord, toSession, sessionColumns: SESSION_COLUMNS };

export class SqliteStore implements Store {
  private readonly statements: StatementCache;
  private committedListener: CommitListener | undefined;

  /** Batches waiting for the next group commit; `writes.stats` counts transactions. */
  readonly writes: GroupCommit<NewBatch, BatchWritten>;

  /** The read side of the query API and console (sqlite-queries.ts), on this connection. */
  private readonly queries: SqliteQueries;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly writer: Writer,
    onCommit: ((batches: number) => void) | undefined,
    /** When set, the reads go there instead of to `queries`. */
    private readonly thread: QueryThread | null,
  ) {
    this.statements = new StatementCache(db);
    this.writes = new GroupCommit((batches) => writer.commit(batches), onCommit);
    this.queries = new SqliteQueries(db, ROW_MAPPING);
  }

  /** One read of the query API or console: in the query thread when there is one. */
  private read<M extends QueryMethod>(method: M, ...args: QueryArgs<M>): Promise<QueryResult<M>> {
    if (this.thread) return this.thread.call(method, args);
    const local = this.queries[method] as (...a: QueryArgs<M>) => Promise<QueryResult<M>>;
    return local.apply(this.queries, args);
  }

  searchLogs = (q: LogSearch): Promise<Page<StoredRecord>> => this.read("searchLogs", q);
  logsAfterId = (q: LogFilter, afterId: number, limit: number): Promise<StoredRecord[]> => this.read("logsAfterId", q, afterId, limit);
  lastLogId = (): Promise<number> => this.read("lastLogId");
  workspaceStats = (q: LogFilter): Promise<WorkspaceStats[]> => this.read("workspaceStats", q);
  top = (q: TopQuery & { decision: "allow" | "deny" }) => this.read("top", q);
  timeseries = (q: TimeseriesQuery): Promise<TimeseriesPoint[]> => this.read("timeseries", q);
  listSessions = (q: SessionQuery): Promise<Page<StoredSession>> => this.read("listSessions", q);
  sessionSummaries = (q: SessionQuery): Promise<Page<SessionSummary>> => this.read("sessionSummaries", q);
  sessionSummary = (sessionId: string, workspaceId?: string): Promise<SessionSummary | null> => this.read("sessionSummary", sessionId, workspaceId);
  agentsLastSeen = (limit: number): Promise<AgentLastSeen[]> => this.read("agentsLastSeen", limit);

  static async open(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (path !== ":memory:") prepareLocation(path);
    let db: SqliteDatabase;
    try {
      db = await openSqlite(path);
    } catch (err) {
      throw storeErrorOf(err, `cannot open the database ${path}`, true);
    }
    const synchronous = opts.synchronous ?? "FULL";
    const busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000));
    let thread: QueryThread | null = null;
    let writer: Writer | null = null;
    try {
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${synchronous}`);
      migrate(db);
      // After the migrations, whose back-fills may sort more than memory should hold: see sqlite-writer-worker.ts.
      db.exec("PRAGMA temp_store = MEMORY");
      const inline = path === ":memory:" || opts.writer === "inline";
      writer = inline ? new InlineWriter(db, synchronous) : await WorkerWriter.start({ path, busyTimeoutMs, synchronous });
      if (opts.queryThread ?? path !== ":memory:") thread = await QueryThread.start(path, busyTimeoutMs);
    } catch (err) {
      await thread?.close();
      await writer?.close();
      db.close();
      throw storeErrorOf(err, `cannot open the database ${path}`, true);
    }
    return new SqliteStore(db, writer!, opts.onCommit, thread);
  }

  private stmt(sql: string): SqliteStatement {
    return this.statements.get(sql);
  }

  /** Queued for the next group commit (group-commit.ts); resolves once that transaction has committed. */
  insertBatch(batch: NewBatch): Promise<InsertResult> {
    const listener = this.committedListener;
    // Group commit settles batches in commit order, so the listener hears them in that order.
    return this.writes.submit(batch).then(
      (written) => {
        listener?.(committedRecords(batch, written));
        return { stored: written.stored, duplicates: written.duplicates };
      },
      (err: unknown) => {
        // A failed commit may still have stored the batch (the writer thread died after COMMIT).
        listener?.(null);
        throw err;
      },
    );
  }

  /** Every record reaches this store through insertBatch: see Store.onCommitted. */
  onCommitted(listener: CommitListener): void {
    this.committedListener = listener;
  }

  async sessionLogs(q: SessionLogsQuery): Promise<StoredRecord[]> {
    const w = new Where().add("s.session_id = ?", q.sessionId);
    if (q.workspaceId) w.add("s.workspace_id = ?", q.workspaceId);
    if (q.afterSeq !== undefined) w.add("l.sequence_number > ?", q.afterSeq);
    if (q.beforeSeq !== undefined) w.add("l.sequence_number < ?", q.beforeSeq);
    const rows = this.stmt(
      `${LOG_SELECT} ${w.sql} ORDER BY l.sequence_number, l.id LIMIT ?`,
    ).all<Row>(...w.params, q.limit);
    return rows.map(toRecord);
  }

  async listLogs(q: LogQuery): Promise<Page<StoredRecord>> {
    const w = this.window(q);
    if (q.workspaceId) w.add("s.workspace_id = ?", q.workspaceId);
    if (q.decision) w.add("l.allowed = ?", q.decision === "allow" ? 1 : 0);
    if (q.domain) w.add("l.http_host = ?", q.domain.toLowerCase());
    if (q.after) w.add("(l.captured_at < ? OR (l.captured_at = ? AND l.id < ?))", q.after.at, q.after.at, q.after.id);
    const rows = this.stmt(
      `${LOG_SELECT} ${w.sql} ORDER BY l.captured_at DESC, l.id DESC LIMIT ?`,
    ).all<Row>(...w.params, q.limit + 1);
    return newestFirstPage(rows, q.limit, "captured_at", toRecord);
  }

  /** The query API's workspaceStats over a window only (kept for the Store interface). */
  async stats(q: TimeWindow): Promise<WorkspaceStats[]> {
    return this.queries.workspaceStats({ since: q.since, until: q.until });
  }

  /** The query API's top denied over a window only (kept for the Store interface). */
  async topDenied(q: TopDeniedQuery): Promise<{ value: string; count: number }[]> {
    return this.queries.top({ since: q.since, until: q.until, by: q.by, limit: q.limit, decision: "deny" });
  }

  private window(q: TimeWindow): Where {
    const w = new Where();
    if (q.since) w.add("l.captured_at >= ?", q.since.getTime());
    if (q.until) w.add("l.captured_at < ?", q.until.getTime());
    return w;
  }

  async unconsumed(consumer: string, limit: number): Promise<StoredRecord[]> {
    try {
      // Records and their sessions apart: a batch's rows share one session,
      // and joining would copy its nine identity columns into every row.
      const rows = this.stmt(
        `SELECT ${LOG_COLUMNS} FROM boundary_logs
         WHERE id > COALESCE((SELECT last_id FROM consumer_cursors WHERE consumer = ?), 0)
         ORDER BY id LIMIT ?`,
      ).all<Row>(consumer, limit);
      const sessions = new Map<unknown, SessionOfRecords>();
      return recordsWithSessions(rows, (ref) => {
        let session = sessions.get(ref);
        if (!session) {
          session = sessionOfRow(this.stmt(`SELECT ${SESSION_COLUMNS} FROM boundary_sessions WHERE id = ?`).get<Row>(ref)!);
          sessions.set(ref, session);
        }
        return session;
      });
    } catch (err) {
      throw storeErrorOf(err, `reading records for ${consumer} failed`);
    }
  }

  async advanceCursor(consumer: string, lastId: number): Promise<void> {
    await this.writer.advanceCursor(consumer, lastId);
  }

  async purgeBefore(cutoff: Date, limit: number): Promise<number> {
    const at = cutoff.getTime();
    // Below every consumer's cursor only: a record not yet taken stays, and
    // so does the record at the lowest cursor, which keeps the newest id.
    const { changes } = this.stmt(
      `DELETE FROM boundary_logs WHERE id IN
         (SELECT id FROM boundary_logs WHERE captured_at < ?
            AND id < (SELECT COALESCE(MIN(last_id), 0) FROM consumer_cursors)
          ORDER BY captured_at, id LIMIT ?)`,
    ).run(at, limit);
    // A session idle since the cutoff goes once none of its records remain.
    this.stmt(
      `DELETE FROM boundary_sessions WHERE id IN (
         SELECT s.id FROM boundary_sessions s WHERE s.updated_at < ?
           AND NOT EXISTS (SELECT 1 FROM boundary_logs l WHERE l.session_ref = s.id) LIMIT ?)`,
    ).run(at, limit);
    return changes;
  }

  async ping(): Promise<void> {
    this.writer.check();
    try {
      this.stmt("SELECT 1 FROM boundary_logs LIMIT 1").all();
      this.stmt("SELECT 1 FROM boundary_sessions LIMIT 1").all();
    } catch (err) {
      throw storeErrorOf(err, "the database does not answer");
    }
  }

  async close(): Promise<void> {
    await this.writes.drain();
    await this.writer.close();
    await this.thread?.close();
    this.statements.clear();
    this.db.close();
  }
}
