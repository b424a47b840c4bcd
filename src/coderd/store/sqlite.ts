// The SQLite store: one file, WAL mode, one transaction per batch. A batch's
// COMMIT returning is what makes its records durable (WAL with
// synchronous=NORMAL survives a crash of this process; FULL also survives
// power loss) — only then does the ingest path emit and acknowledge.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { openSqlite, type SqliteDatabase, type SqliteStatement } from "../../runtime/adapter.ts";
import { migrate } from "./migrations.ts";
import type {
  InsertResult, LogQuery, NewBatch, Page, PagePosition, SessionLogsQuery, SessionQuery, Store, StoredRecord,
  StoredSession, TimeWindow, TopDeniedQuery, WorkspaceStats,
} from "./store.ts";

export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
  synchronous?: "NORMAL" | "FULL";
}

const IDENTITY = "agent_id, agent_name, workspace_id, workspace_name, owner_id, owner_name, template_id, template_version_id, confined_process_name";
const LOG_COLUMNS = `id, session_id, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at, ${IDENTITY}`;
const SESSION_COLUMNS = `id, session_id, ${IDENTITY}, started_at, updated_at`;

type Row = Record<string, unknown>;

const iso = (ms: unknown) => new Date(Number(ms)).toISOString();

function toRecord(r: Row): StoredRecord {
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

function toSession(r: Row): StoredSession {
  return {
    session_id: String(r.session_id),
    agent_id: String(r.agent_id),
    agent_name: String(r.agent_name),
    workspace_id: String(r.workspace_id),
    workspace_name: String(r.workspace_name),
    owner_id: String(r.owner_id),
    owner_name: String(r.owner_name),
    template_id: String(r.template_id),
    template_version_id: String(r.template_version_id),
    confined_process_name: String(r.confined_process_name),
    started_at: iso(r.started_at),
    updated_at: iso(r.updated_at),
  };
}

/** WHERE clauses and their parameters, built up filter by filter. */
class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  add(clause: string, ...params: unknown[]): this {
    this.clauses.push(clause);
    this.params.push(...params);
    return this;
  }
  get sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(" AND ")}` : "";
  }
}

function newestFirstPage<T>(rows: Row[], limit: number, atColumn: string, map: (r: Row) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = rows.length > limit ? items[items.length - 1] : undefined;
  const next: PagePosition | null = last ? { at: Number(last[atColumn]), id: Number(last.id) } : null;
  return { items: items.map(map), next };
}

export class SqliteStore implements Store {
  private readonly statements = new Map<string, SqliteStatement>();

  private constructor(private readonly db: SqliteDatabase) {}

  static async open(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = await openSqlite(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${opts.synchronous ?? "NORMAL"}`);
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteStore(db);
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
    const { identity: id } = batch;
    const capturedAt = batch.capturedAt.getTime();
    const identityParams = [
      id.agentId, id.agentName, id.workspaceId, id.workspaceName, id.ownerId, id.ownerName,
      id.templateId, id.templateVersionId, batch.confinedProcessName,
    ];
    const insertLog = this.stmt(
      `INSERT INTO boundary_logs (session_id, dedup_session, sequence_number, allowed, http_method, http_url, http_host,
         matched_rule, event_time, captured_at, ${IDENTITY})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (dedup_session, workspace_id, sequence_number) DO NOTHING`,
    );
    const stored: number[] = [];
    this.db.exec("BEGIN IMMEDIATE");
    try {
      if (batch.deduplicate && batch.records.length > 0) {
        this.stmt(
          `INSERT INTO boundary_sessions (session_id, ${IDENTITY}, started_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (session_id, workspace_id) DO UPDATE SET updated_at = excluded.updated_at`,
        ).run(batch.sessionId, ...identityParams, capturedAt, capturedAt);
      }
      const dedupSession = batch.deduplicate ? batch.sessionId : null;
      batch.records.forEach((r, index) => {
        const { changes } = insertLog.run(
          batch.sessionId, dedupSession, r.sequenceNumber, r.allowed ? 1 : 0, r.httpMethod, r.httpUrl, r.httpHost,
          r.matchedRule, r.eventTime, capturedAt, ...identityParams,
        );
        if (changes === 1) stored.push(index);
      });
      this.db.exec("COMMIT");
    } catch (err) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // The failed statement may have rolled back already.
      }
      throw err;
    }
    return { stored, duplicates: batch.records.length - stored.length };
  }

  async listSessions(q: SessionQuery): Promise<Page<StoredSession>> {
    const w = new Where();
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
    const w = new Where().add("session_id = ?", q.sessionId);
    if (q.workspaceId) w.add("workspace_id = ?", q.workspaceId);
    if (q.afterSeq !== undefined) w.add("sequence_number > ?", q.afterSeq);
    if (q.beforeSeq !== undefined) w.add("sequence_number < ?", q.beforeSeq);
    const rows = this.stmt(
      `SELECT ${LOG_COLUMNS} FROM boundary_logs ${w.sql} ORDER BY sequence_number, id LIMIT ?`,
    ).all<Row>(...w.params, q.limit);
    return rows.map(toRecord);
  }

  async listLogs(q: LogQuery): Promise<Page<StoredRecord>> {
    const w = new Where();
    if (q.workspaceId) w.add("workspace_id = ?", q.workspaceId);
    if (q.decision) w.add("allowed = ?", q.decision === "allow" ? 1 : 0);
    if (q.domain) w.add("http_host = ?", q.domain.toLowerCase());
    if (q.since) w.add("captured_at >= ?", q.since.getTime());
    if (q.until) w.add("captured_at < ?", q.until.getTime());
    if (q.after) w.add("(captured_at < ? OR (captured_at = ? AND id < ?))", q.after.at, q.after.at, q.after.id);
    const rows = this.stmt(
      `SELECT ${LOG_COLUMNS} FROM boundary_logs ${w.sql} ORDER BY captured_at DESC, id DESC LIMIT ?`,
    ).all<Row>(...w.params, q.limit + 1);
    return newestFirstPage(rows, q.limit, "captured_at", toRecord);
  }

  async stats(q: TimeWindow): Promise<WorkspaceStats[]> {
    const w = this.window(q);
    const rows = this.stmt(
      `SELECT workspace_id, max(workspace_name) AS workspace_name, max(owner_name) AS owner_name,
              sum(allowed) AS allowed, sum(1 - allowed) AS denied
       FROM boundary_logs ${w.sql} GROUP BY workspace_id ORDER BY workspace_id`,
    ).all<Row>(...w.params);
    return rows.map((r) => ({
      workspace_id: String(r.workspace_id),
      workspace_name: String(r.workspace_name),
      owner_name: String(r.owner_name),
      allowed: Number(r.allowed),
      denied: Number(r.denied),
    }));
  }

  async topDenied(q: TopDeniedQuery): Promise<{ value: string; count: number }[]> {
    const w = this.window(q).add("allowed = 0");
    const column = q.by === "domain" ? "http_host" : "http_url";
    const rows = this.stmt(
      `SELECT ${column} AS value, count(*) AS count FROM boundary_logs ${w.sql}
       GROUP BY ${column} ORDER BY count DESC, value ASC LIMIT ?`,
    ).all<Row>(...w.params, q.limit);
    return rows.map((r) => ({ value: String(r.value), count: Number(r.count) }));
  }

  private window(q: TimeWindow): Where {
    const w = new Where();
    if (q.since) w.add("captured_at >= ?", q.since.getTime());
    if (q.until) w.add("captured_at < ?", q.until.getTime());
    return w;
  }

  async purgeBefore(cutoff: Date, limit: number): Promise<number> {
    const at = cutoff.getTime();
    const { changes } = this.stmt(
      `DELETE FROM boundary_logs WHERE id IN
         (SELECT id FROM boundary_logs WHERE captured_at < ? ORDER BY captured_at, id LIMIT ?)`,
    ).run(at, limit);
    this.stmt(
      `DELETE FROM boundary_sessions WHERE id IN (SELECT id FROM boundary_sessions WHERE updated_at < ? LIMIT ?)`,
    ).run(at, limit);
    return changes;
  }

  async ping(): Promise<void> {
    this.db.prepare("SELECT 1 FROM boundary_logs LIMIT 1").all();
    this.db.prepare("SELECT 1 FROM boundary_sessions LIMIT 1").all();
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db.close();
  }
}
