// The SQLite side of RecordQueries (and the session list): the searches,
// aggregates and session completeness behind the query API and the console.
// Read-only: nothing here writes, so it can run on its own read-only
// connection in the query thread (query-worker.ts). Every value reaches
// SQLite as a bound parameter, never as SQL text. Row mapping comes from
// sqlite.ts (injected, so the two files do not import each other).
//
// Costs, with the indexes of migration 3: newest-first pages walk
// (captured_at) backwards and stop at the page size; an exact host uses
// (http_host, captured_at). Stats, top domains and workspaces, and hourly
// or daily charts read the hourly rollup (migration 5, sqlite-rollup.ts)
// plus the records of the window's partial edge hours; with url_contains,
// time=event, top URLs or minute buckets they read the covering
// (captured_at, allowed, http_host, session_ref) index over the window.
// A domain filter (host or subdomain) and url_contains on record lists are
// scans of the window.
import type { SqliteDatabase, SqliteStatement } from "../../runtime/adapter.ts";
import type {
  AgentLastSeen, LogFilter, LogSearch, Page, SequenceGap, SessionCompleteness, SessionQuery,
  SessionSummary, StoredRecord, StoredSession, TimeseriesPoint, TimeseriesQuery, TopQuery, WorkspaceStats,
} from "./store.ts";
import {
  attributeWhere, type FilterDialect, newestFirstPage, RECORD_COLUMNS, sessionListWhere, SQLITE_FILTERS, timeseriesPoints, toAgentLastSeen,
  toWorkspaceStats, Where,
} from "./sql-parts.ts";
import { rollupTimeseries, rollupTop, rollupWorkspaceStats, type Sql } from "./sqlite-rollup.ts";

type Row = Record<string, unknown>;

/** What sqlite.ts lends: its row mappers and the SELECT they read. */
export interface RowMapping {
  /** `SELECT … FROM boundary_logs l JOIN boundary_sessions s …`, with l.captured_at and l.id selected. */
  logSelect: string;
  toRecord(r: Row): StoredRecord;
  toSession(r: Row): StoredSession;
  /** Columns of boundary_sessions that toSession reads (unqualified). */
  sessionColumns: string;
}

/** Gaps listed per session in lists (the count of missing records is always exact). */
export const GAPS_PER_SESSION = 50;

/** `2025-12-08T20:58:47`: event_time compared by its whole-second prefix, which sorts as text. */
export const eventSecond = (ms: number) => new Date(ms).toISOString().slice(0, 19);

/** The shared filters over `boundary_logs l JOIN boundary_sessions s` (postgres-queries.ts passes its dialect). */
export function filterWhere(q: LogFilter, dialect: FilterDialect = SQLITE_FILTERS): Where {
  const w = new Where();
  if (q.timeField === "event") {
    if (q.since) w.add("substr(l.event_time, 1, 19) >= ?", eventSecond(Math.floor(q.since.getTime() / 1000) * 1000));
    if (q.until) w.add("substr(l.event_time, 1, 19) < ?", eventSecond(Math.ceil(q.until.getTime() / 1000) * 1000));
  } else {
    if (q.since) w.add("l.captured_at >= ?", q.since.getTime());
    if (q.until) w.add("l.captured_at < ?", q.until.getTime());
  }
  attributeWhere(q, RECORD_COLUMNS, w, dialect);
  if (q.urlContains) w.add(dialect.urlContains, q.urlContains);
  return w;
}

/** True when a filter needs the session columns (else the join can be skipped). */
export const needsSession = (q: LogFilter) => Boolean(q.workspaceId || q.workspace || q.owner || q.process);

export const FROM_LOGS = "FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref";
export const FROM_LOGS_ONLY = "FROM boundary_logs l";

export class SqliteQueries {
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly rows: RowMapping,
  ) {}

  private all(sql: string, params: unknown[]): Row[] {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s.all<Row>(...params);
  }

  async searchLogs(q: LogSearch): Promise<Page<StoredRecord>> {
    const w = filterWhere(q);
    if (q.after) w.add("(l.captured_at < ? OR (l.captured_at = ? AND l.id < ?))", q.after.at, q.after.at, q.after.id);
    const rows = this.all(
      `${this.rows.logSelect} ${w.sql} ORDER BY l.captured_at DESC, l.id DESC LIMIT ?`, [...w.params, q.limit + 1],
    );
    return newestFirstPage(rows, q.limit, "captured_at", this.rows.toRecord);
  }

  async logsAfterId(q: LogFilter, afterId: number, limit: number): Promise<StoredRecord[]> {
    const w = filterWhere(q).add("l.id > ?", afterId);
    return this.all(`${this.rows.logSelect} ${w.sql} ORDER BY l.id LIMIT ?`, [...w.params, limit]).map(this.rows.toRecord);
  }

  async lastLogId(): Promise<number> {
    return Number(this.all("SELECT coalesce(max(id), 0) AS id FROM boundary_logs", [])[0]?.id ?? 0);
  }

  async workspaceStats(q: LogFilter): Promise<WorkspaceStats[]> {
    return this.run(rollupWorkspaceStats(q) ?? this.scanWorkspaceStats(q)).map(toWorkspaceStats);
  }

  async top(q: TopQuery & { decision: "allow" | "deny" }): Promise<{ value: string; count: number }[]> {
    return this.run(rollupTop(q) ?? this.scanTop(q)).map((r) => ({ value: String(r.value), count: Number(r.count) }));
  }

  async timeseries(q: TimeseriesQuery): Promise<TimeseriesPoint[]> {
    return timeseriesPoints(this.run(rollupTimeseries(q) ?? this.scanTimeseries(q)), q);
  }

  /** The aggregates by scanning the window's records: for what the rollup does not carry (sqlite-rollup.ts). */
  private scanWorkspaceStats(q: LogFilter): Sql {
    const w = filterWhere(q);
    return {
      sql: `SELECT s.workspace_id, max(s.workspace_name) AS workspace_name, max(s.owner_name) AS owner_name,
              sum(l.allowed) AS allowed, sum(1 - l.allowed) AS denied
            ${FROM_LOGS} ${w.sql} GROUP BY s.workspace_id ORDER BY s.workspace_id`,
      params: w.params,
    };
  }

  private scanTop(q: TopQuery & { decision: "allow" | "deny" }): Sql {
    const w = filterWhere(q);
    const column = { domain: "l.http_host", url: "l.http_url", workspace: "s.workspace_name" }[q.by];
    const from = q.by === "workspace" || needsSession(q) ? FROM_LOGS : FROM_LOGS_ONLY;
    return {
      // "+": grouping must not pick the (http_host, captured_at) index, which walks every record instead of the window.
      sql: `SELECT ${column} AS value, count(*) AS count ${from} ${w.sql} GROUP BY +${column} ORDER BY count DESC, value ASC LIMIT ?`,
      params: [...w.params, q.limit],
    };
  }

  private scanTimeseries(q: TimeseriesQuery): Sql {
    const w = filterWhere(q);
    const ms = q.timeField === "event" ? "(unixepoch(substr(l.event_time, 1, 19)) * 1000)" : "l.captured_at";
    const from = needsSession(q) ? FROM_LOGS : FROM_LOGS_ONLY;
    return {
      sql: `SELECT (${ms} - ?) / ? AS bucket, sum(l.allowed) AS allowed, sum(1 - l.allowed) AS denied
            ${from} ${w.sql} GROUP BY bucket`,
      params: [q.since.getTime(), q.bucketMs, ...w.params],
    };
  }

  /** Runs a built query (cached statement). */
  private run(q: Sql): Row[] {
    return this.all(q.sql, q.params);
  }

  /** Keyed sessions, newest first. */
  async listSessions(q: SessionQuery): Promise<Page<StoredSession>> {
    const w = sessionListWhere(q, "keyed = 1");
    const rows = this.all(
      `SELECT ${this.rows.sessionColumns} FROM boundary_sessions ${w.sql} ORDER BY started_at DESC, id DESC LIMIT ?`,
      [...w.params, q.limit + 1],
    );
    return newestFirstPage(rows, q.limit, "started_at", this.rows.toSession);
  }

  /** A page of sessions with each one's counts and gaps. */
  async sessionSummaries(q: SessionQuery): Promise<Page<SessionSummary>> {
    const page = await this.listSessions(q);
    return { next: page.next, items: page.items.map((session) => this.summarise(session, GAPS_PER_SESSION)) };
  }

  async sessionSummary(sessionId: string, workspaceId?: string): Promise<SessionSummary | null> {
    const w = new Where().add("session_id = ?", sessionId);
    if (workspaceId) w.add("workspace_id = ?", workspaceId);
    const rows = this.all(
      `SELECT ${this.rows.sessionColumns} FROM boundary_sessions ${w.sql} ORDER BY updated_at DESC, id DESC LIMIT 1`,
      w.params,
    );
    const row = rows[0];
    return row ? this.summarise(this.rows.toSession(row), 1000) : null;
  }

  private summarise(session: StoredSession, maxGaps: number): SessionSummary {
    const ref = this.all("SELECT id FROM boundary_sessions WHERE session_id = ? AND workspace_id = ?", [session.session_id, session.workspace_id])[0];
    return { ...session, ...this.completeness(Number(ref?.id ?? 0), maxGaps) };
  }

  /** Counts and gaps of one session row, read from the (session_ref, sequence_number) index. */
  private completeness(sessionRef: number, maxGaps: number): SessionCompleteness {
    const c = this.all(
      `SELECT count(*) AS records, sum(allowed) AS allowed, min(sequence_number) AS first_seq,
              max(sequence_number) AS last_seq, count(DISTINCT CASE WHEN sequence_number >= 0 THEN sequence_number END) AS distinct_seqs,
              min(captured_at) AS first_seen, max(captured_at) AS last_seen
       FROM boundary_logs WHERE session_ref = ?`,
      [sessionRef],
    )[0]!;
    const records = Number(c.records);
    const lastSeq = c.last_seq === null ? null : Number(c.last_seq);
    const missing = lastSeq === null || lastSeq < 0 ? 0 : lastSeq + 1 - Number(c.distinct_seqs);
    return {
      records,
      allowed: Number(c.allowed ?? 0),
      denied: records - Number(c.allowed ?? 0),
      first_seq: c.first_seq === null ? null : Number(c.first_seq),
      last_seq: lastSeq,
      first_seen: c.first_seen === null ? null : new Date(Number(c.first_seen)).toISOString(),
      last_seen: c.last_seen === null ? null : new Date(Number(c.last_seen)).toISOString(),
      missing,
      gaps: missing > 0 ? this.gaps(sessionRef, maxGaps) : [],
      boundary_reported_drops: null,
    };
  }

  /** Runs of missing sequence numbers from 0 up to the highest stored one, in order. */
  private gaps(sessionRef: number, limit: number): SequenceGap[] {
    return this.all(
      `SELECT prev + 1 AS gap_from, seq - 1 AS gap_to FROM (
         SELECT sequence_number AS seq, lag(sequence_number, 1, -1) OVER (ORDER BY sequence_number) AS prev
         FROM (SELECT DISTINCT sequence_number FROM boundary_logs WHERE session_ref = ? AND sequence_number >= 0))
       WHERE seq > prev + 1 ORDER BY seq LIMIT ?`,
      [sessionRef, limit],
    ).map((r) => ({ from: Number(r.gap_from), to: Number(r.gap_to), missing: Number(r.gap_to) - Number(r.gap_from) + 1 }));
  }

  async agentsLastSeen(limit: number): Promise<AgentLastSeen[]> {
    return this.all(
      `SELECT agent_id, max(agent_name) AS agent_name, workspace_id, max(workspace_name) AS workspace_name,
              max(owner_name) AS owner_name, max(updated_at) AS last_seen
       FROM boundary_sessions GROUP BY agent_id, workspace_id ORDER BY last_seen DESC LIMIT ?`,
      [limit],
    ).map(toAgentLastSeen);
  }
}
