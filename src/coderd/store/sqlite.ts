// The SQLite store: one file, WAL mode, one transaction per batch, records
// inserted many rows per statement (RETURNING tells which were new). A batch's
// COMMIT returning is what makes its records durable — WAL with
// synchronous=FULL fsyncs the log at every commit, so an acknowledged batch
// survives power loss too — and only then does the ingest path acknowledge.
// (FULL measured no slower than NORMAL for 1000-row batches.)
//
// Consumer cursors (table consumer_cursors) are written without an fsync of
// their own (synchronous=NORMAL for that one statement): a crash of the
// process keeps them, a power loss may take the newest one back, and the
// consumer then delivers those records again. Record ids are SQLite rowids:
// with all writes serialised by the write lock they increase in commit order,
// and since the purge never deletes the newest record, they are never reused.
//
// Files: a new database is created 0600 (owner only); SQLite gives its -wal
// and -shm files the database file's mode. Driver errors become StoreError
// here, by SQLite result code, never by message.
import { closeSync, constants, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { openSqlite, type SqliteDatabase, type SqliteStatement } from "../../runtime/adapter.ts";
import { messageOf, StoreError, type StoreFailure } from "./errors.ts";
import { migrate } from "./migrations.ts";
import { newestFirstPage, toWorkspaceStats, Where } from "./sql-parts.ts";
import { SqliteQueries } from "./sqlite-queries.ts";
import type {
  AgentLastSeen, LogFilter, LogSearch, SessionSummary, TimeseriesPoint, TimeseriesQuery, TopQuery,
  InsertResult, LogQuery, NewBatch, Page, SessionIdentity, SessionLogsQuery, SessionQuery, Store, StoredRecord,
  StoredSession, TimeWindow, TopDeniedQuery, WorkspaceStats,
} from "./store.ts";

export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
  synchronous?: "NORMAL" | "FULL";
}

export const IDENTITY = "agent_id, agent_name, workspace_id, workspace_name, owner_id, owner_name, template_id, template_version_id, confined_process_name";
const SESSION_IDENTITY = IDENTITY.split(", ").map((c) => `s.${c}`).join(", ");
/** Records joined with their session, which carries the identity. */
export const LOG_SELECT = `SELECT l.id, s.session_id, l.sequence_number, l.allowed, l.http_method, l.http_url, l.http_host,
  l.matched_rule, l.event_time, l.captured_at, ${SESSION_IDENTITY}
  FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref`;
export const SESSION_COLUMNS = `id, session_id, ${IDENTITY}, started_at, updated_at`;
const LOG_INSERT_COLUMNS = "session_ref, dedup, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at";
/** Rows per INSERT statement: fewer crossings into SQLite, measured best near 50. */
const ROWS_PER_INSERT = 50;

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
function storeErrorOf(err: unknown, doing: string, opening = false): StoreError {
  if (err instanceof StoreError) return err;
  const code = sqliteCode(err);
  let failure: StoreFailure = "unreachable";
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) failure = "corrupt";
  else if (code === SQLITE_CANTOPEN && opening) failure = "bad_location";
  return new StoreError(failure, `${doing}: ${messageOf(err)}`, { cause: err });
}

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

export function toRecord(r: Row): StoredRecord {
  return {
    id: Number(r.id),
    session_id: String(r.session_id),
    sequence_number: Number(r.sequence_number),
    decision: Number(r.allowed) === 1 ? "allow" : "deny",
    http_method: String(r.http_method),
    http_url: String(r.http_url),
    domain: String(r.http_host),
    matched_rule: String(r.matched_rule),
    event_time: String(r.event_time),
    captured_at: iso(r.captured_at),
    ...toIdentity(r),
  };
}

/**
 * Indexes of the records a de-duplicating insert stored, given the sequence
 * numbers it returned: a number repeated within the batch counts once, at
 * its first occurrence.
 */
export function firstOccurrences(records: NewBatch["records"], returned: number[]): number[] {
  const fresh = new Set(returned);
  const stored: number[] = [];
  records.forEach((r, i) => {
    if (fresh.delete(r.sequenceNumber)) stored.push(i);
  });
  return stored;
}

export function toSession(r: Row): StoredSession {
  return {
    session_id: String(r.session_id),
    ...toIdentity(r),
    started_at: iso(r.started_at),
    updated_at: iso(r.updated_at),
  };
}

export class SqliteStore implements Store {
  private readonly statements = new Map<string, SqliteStatement>();

  /** The read side of the query API and console (sqlite-queries.ts). */
  private readonly queries: SqliteQueries;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly synchronous: "NORMAL" | "FULL",
  ) {
    this.queries = new SqliteQueries(db, { logSelect: LOG_SELECT, toRecord, toSession, sessionColumns: SESSION_COLUMNS });
  }

  searchLogs = (q: LogSearch): Promise<Page<StoredRecord>> => this.queries.searchLogs(q);
  logsAfterId = (q: LogFilter, afterId: number, limit: number): Promise<StoredRecord[]> => this.queries.logsAfterId(q, afterId, limit);
  lastLogId = (): Promise<number> => this.queries.lastLogId();
  workspaceStats = (q: LogFilter): Promise<WorkspaceStats[]> => this.queries.workspaceStats(q);
  top = (q: TopQuery & { decision: "allow" | "deny" }) => this.queries.top(q);
  timeseries = (q: TimeseriesQuery): Promise<TimeseriesPoint[]> => this.queries.timeseries(q);
  sessionSummaries = async (q: SessionQuery): Promise<Page<SessionSummary>> => this.queries.withCompleteness(await this.listSessions(q));
  sessionSummary = (sessionId: string, workspaceId?: string): Promise<SessionSummary | null> => this.queries.sessionSummary(sessionId, workspaceId);
  agentsLastSeen = (limit: number): Promise<AgentLastSeen[]> => this.queries.agentsLastSeen(limit);

  static async open(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (path !== ":memory:") prepareLocation(path);
    let db: SqliteDatabase;
    try {
      db = await openSqlite(path);
    } catch (err) {
      throw storeErrorOf(err, `cannot open the database ${path}`, true);
    }
    const synchronous = opts.synchronous ?? "FULL";
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${synchronous}`);
      migrate(db);
    } catch (err) {
      db.close();
      throw storeErrorOf(err, `cannot open the database ${path}`, true);
    }
    return new SqliteStore(db, synchronous);
  }

  private stmt(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  async insertBatch(batch: NewBatch): Promise<InsertResult> {
    const capturedAt = batch.capturedAt.getTime();
    const dedup = batch.deduplicate ? 1 : 0;
    const returned: number[] = [];
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const sessionRef = this.upsertSession(batch, capturedAt);
      for (let from = 0; from < batch.records.length; from += ROWS_PER_INSERT) {
        const chunk = batch.records.slice(from, from + ROWS_PER_INSERT);
        const params: unknown[] = [];
        for (const r of chunk) {
          params.push(sessionRef, dedup, r.sequenceNumber, r.allowed ? 1 : 0, r.httpMethod, r.httpUrl, r.httpHost,
            r.matchedRule, r.eventTime, capturedAt);
        }
        for (const row of this.insertLogs(chunk.length).all<{ sequence_number: number }>(...params)) {
          returned.push(row.sequence_number);
        }
      }
      this.db.exec("COMMIT");
    } catch (err) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // The failed statement may have rolled back already.
      }
      throw storeErrorOf(err, "insert failed");
    }
    const stored = dedup ? firstOccurrences(batch.records, returned) : batch.records.map((_, i) => i);
    return { stored, duplicates: batch.records.length - stored.length };
  }

  /** The batch's session row (made on its first batch); returns its id. */
  private upsertSession(batch: NewBatch, capturedAt: number): number {
    const id = batch.identity;
    const row = this.stmt(
      `INSERT INTO boundary_sessions (session_id, keyed, ${IDENTITY}, started_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, workspace_id) DO UPDATE SET updated_at = excluded.updated_at
       RETURNING id`,
    ).get<{ id: number }>(
      batch.sessionId, batch.deduplicate ? 1 : 0, id.agentId, id.agentName, id.workspaceId, id.workspaceName,
      id.ownerId, id.ownerName, id.templateId, id.templateVersionId, batch.confinedProcessName, capturedAt, capturedAt,
    );
    return row!.id;
  }

  private insertLogs(rows: number): SqliteStatement {
    const values = Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ");
    return this.stmt(
      `INSERT INTO boundary_logs (${LOG_INSERT_COLUMNS}) VALUES ${values} ON CONFLICT DO NOTHING RETURNING sequence_number`,
    );
  }

  async listSessions(q: SessionQuery): Promise<Page<StoredSession>> {
    const w = new Where().add("keyed = 1");
    if (q.workspaceId) w.add("workspace_id = ?", q.workspaceId);
    if (q.since) w.add("updated_at >= ?", q.since.getTime());
    if (q.until) w.add("started_at < ?", q.until.getTime());
    if (q.after) w.add("(started_at < ? OR (started_at = ? AND id < ?))", q.after.at, q.after.at, q.after.id);
    const rows = this.stmt(
      `SELECT ${SESSION_COLUMNS} FROM boundary_sessions ${w.sql} ORDER BY started_at DESC, id DESC LIMIT ?`,
    ).all<Row>(...w.params, q.limit + 1);
    return newestFirstPage(rows, q.limit, "started_at", toSession);
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

  async stats(q: TimeWindow): Promise<WorkspaceStats[]> {
    const w = this.window(q);
    const rows = this.stmt(
      `SELECT s.workspace_id, max(s.workspace_name) AS workspace_name, max(s.owner_name) AS owner_name,
              sum(l.allowed) AS allowed, sum(1 - l.allowed) AS denied
       FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref ${w.sql}
       GROUP BY s.workspace_id ORDER BY s.workspace_id`,
    ).all<Row>(...w.params);
    return rows.map(toWorkspaceStats);
  }

  async topDenied(q: TopDeniedQuery): Promise<{ value: string; count: number }[]> {
    const w = this.window(q).add("l.allowed = 0");
    const column = q.by === "domain" ? "http_host" : "http_url";
    const rows = this.stmt(
      `SELECT ${column} AS value, count(*) AS count FROM boundary_logs l ${w.sql}
       GROUP BY ${column} ORDER BY count DESC, value ASC LIMIT ?`,
    ).all<Row>(...w.params, q.limit);
    return rows.map((r) => ({ value: String(r.value), count: Number(r.count) }));
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
        `SELECT id, session_ref, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at
         FROM boundary_logs WHERE id > COALESCE((SELECT last_id FROM consumer_cursors WHERE consumer = ?), 0)
         ORDER BY id LIMIT ?`,
      ).all<Row>(consumer, limit);
      const sessions = new Map<unknown, Row>();
      const sessionOf = (ref: unknown): Row => {
        let session = sessions.get(ref);
        if (!session) {
          session = this.stmt(`SELECT ${SESSION_COLUMNS} FROM boundary_sessions WHERE id = ?`).get<Row>(ref)!;
          sessions.set(ref, session);
        }
        return session;
      };
      return rows.map((row) => toRecord({ ...sessionOf(row.session_ref), ...row }));
    } catch (err) {
      throw storeErrorOf(err, `reading records for ${consumer} failed`);
    }
  }

  async advanceCursor(consumer: string, lastId: number): Promise<void> {
    try {
      // A lost cursor move only repeats lines: no fsync of its own.
      if (this.synchronous !== "NORMAL") this.db.exec("PRAGMA synchronous = NORMAL");
      try {
        this.stmt(
          `INSERT INTO consumer_cursors (consumer, last_id) VALUES (?, ?)
           ON CONFLICT (consumer) DO UPDATE SET last_id = max(last_id, excluded.last_id)`,
        ).run(consumer, lastId);
      } finally {
        if (this.synchronous !== "NORMAL") this.db.exec(`PRAGMA synchronous = ${this.synchronous}`);
      }
    } catch (err) {
      throw storeErrorOf(err, `moving the cursor of ${consumer} failed`);
    }
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
    try {
      this.db.prepare("SELECT 1 FROM boundary_logs LIMIT 1").all();
      this.db.prepare("SELECT 1 FROM boundary_sessions LIMIT 1").all();
    } catch (err) {
      throw storeErrorOf(err, "the database does not answer");
    }
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db.close();
  }
}
