// The PostgreSQL side of RecordQueries: the searches, aggregates and session
// completeness of sqlite-queries.ts in PostgreSQL's dialect (right/strpos for
// SQLite's negative substr/instr, extract(epoch …) for unixepoch, derived
// tables named). Read-only; every value a bound parameter. The SQL is
// written with `?` and run through `run` (postgres.ts numbers them), so the
// two files read side by side; the contract suite (test/coderd/store/)
// proves they answer alike.
import { LOG_SELECT, SESSION_COLUMNS, toRecord, toSession } from "./sqlite.ts";
import { newestFirstPage, PG_FILTERS, timeseriesPoints, toAgentLastSeen, toWorkspaceStats, Where } from "./sql-parts.ts";
import {
  filterWhere as sqliteFilterWhere, FROM_LOGS, FROM_LOGS_ONLY, GAPS_PER_SESSION, needsSession,
} from "./sqlite-queries.ts";
import type {
  AgentLastSeen, LogFilter, LogSearch, Page, SequenceGap, SessionCompleteness,
  SessionSummary, StoredRecord, StoredSession, TimeseriesPoint, TimeseriesQuery, TopQuery, WorkspaceStats,
} from "./store.ts";

type Row = Record<string, unknown>;
export type RunSql = (sql: string, params: unknown[]) => Promise<Row[]>;

const filterWhere = (q: LogFilter) => sqliteFilterWhere(q, PG_FILTERS);

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export class PgQueries {
  constructor(private readonly run: RunSql) {}

  async searchLogs(q: LogSearch): Promise<Page<StoredRecord>> {
    const w = filterWhere(q);
    if (q.after) w.add("(l.captured_at < ? OR (l.captured_at = ? AND l.id < ?))", q.after.at, q.after.at, q.after.id);
    const rows = await this.run(`${LOG_SELECT} ${w.sql} ORDER BY l.captured_at DESC, l.id DESC LIMIT ?`, [...w.params, q.limit + 1]);
    return newestFirstPage(rows, q.limit, "captured_at", toRecord);
  }

  async logsAfterId(q: LogFilter, afterId: number, limit: number): Promise<StoredRecord[]> {
    const w = filterWhere(q).add("l.id > ?", afterId);
    return (await this.run(`${LOG_SELECT} ${w.sql} ORDER BY l.id LIMIT ?`, [...w.params, limit])).map(toRecord);
  }

  async lastLogId(): Promise<number> {
    return Number((await this.run("SELECT coalesce(max(id), 0) AS id FROM boundary_logs", []))[0]?.id ?? 0);
  }

  async workspaceStats(q: LogFilter): Promise<WorkspaceStats[]> {
    const w = filterWhere(q);
    const rows = await this.run(
      `SELECT s.workspace_id, max(s.workspace_name) AS workspace_name, max(s.owner_name) AS owner_name,
              sum(l.allowed) AS allowed, sum(1 - l.allowed) AS denied
       ${FROM_LOGS} ${w.sql} GROUP BY s.workspace_id ORDER BY s.workspace_id`,
      w.params,
    );
    return rows.map(toWorkspaceStats);
  }

  async top(q: TopQuery & { decision: "allow" | "deny" }): Promise<{ value: string; count: number }[]> {
    const w = filterWhere(q);
    const column = { domain: "l.http_host", url: "l.http_url", workspace: "s.workspace_name" }[q.by];
    const from = q.by === "workspace" || needsSession(q) ? FROM_LOGS : FROM_LOGS_ONLY;
    const rows = await this.run(
      `SELECT ${column} AS value, count(*) AS count ${from} ${w.sql} GROUP BY ${column} ORDER BY count DESC, value ASC LIMIT ?`,
      [...w.params, q.limit],
    );
    return rows.map((r) => ({ value: String(r.value), count: Number(r.count) }));
  }

  async timeseries(q: TimeseriesQuery): Promise<TimeseriesPoint[]> {
    const w = filterWhere(q);
    const ms = q.timeField === "event"
      ? "(extract(epoch FROM substr(l.event_time, 1, 19)::timestamp)::bigint * 1000)"
      : "l.captured_at";
    const from = needsSession(q) ? FROM_LOGS : FROM_LOGS_ONLY;
    const rows = await this.run(
      `SELECT (${ms} - ?::bigint) / ?::bigint AS bucket, sum(l.allowed) AS allowed, sum(1 - l.allowed) AS denied
       ${from} ${w.sql} GROUP BY bucket`,
      [q.since.getTime(), q.bucketMs, ...w.params],
    );
    return timeseriesPoints(rows, q);
  }

  async withCompleteness(page: Page<StoredSession>): Promise<Page<SessionSummary>> {
    const items: SessionSummary[] = [];
    for (const session of page.items) items.push(await this.summarise(session, GAPS_PER_SESSION));
    return { next: page.next, items };
  }

  async sessionSummary(sessionId: string, workspaceId?: string): Promise<SessionSummary | null> {
    const w = new Where().add("session_id = ?", sessionId);
    if (workspaceId) w.add("workspace_id = ?", workspaceId);
    const rows = await this.run(`SELECT ${SESSION_COLUMNS} FROM boundary_sessions ${w.sql} ORDER BY updated_at DESC, id DESC LIMIT 1`, w.params);
    const row = rows[0];
    return row ? this.summarise(toSession(row), 1000) : null;
  }

  private async summarise(session: StoredSession, maxGaps: number): Promise<SessionSummary> {
    const ref = (await this.run("SELECT id FROM boundary_sessions WHERE session_id = ? AND workspace_id = ?", [session.session_id, session.workspace_id]))[0];
    return { ...session, ...(await this.completeness(Number(ref?.id ?? 0), maxGaps)) };
  }

  private async completeness(sessionRef: number, maxGaps: number): Promise<SessionCompleteness> {
    const c = (await this.run(
      `SELECT count(*) AS records, sum(allowed) AS allowed, min(sequence_number) AS first_seq,
              max(sequence_number) AS last_seq, count(DISTINCT CASE WHEN sequence_number >= 0 THEN sequence_number END) AS distinct_seqs,
              min(captured_at) AS first_seen, max(captured_at) AS last_seen
       FROM boundary_logs WHERE session_ref = ?`,
      [sessionRef],
    ))[0]!;
    const records = Number(c.records);
    const lastSeq = num(c.last_seq);
    const missing = lastSeq === null || lastSeq < 0 ? 0 : lastSeq + 1 - Number(c.distinct_seqs);
    return {
      records,
      allowed: Number(c.allowed ?? 0),
      denied: records - Number(c.allowed ?? 0),
      first_seq: num(c.first_seq),
      last_seq: lastSeq,
      first_seen: c.first_seen === null ? null : new Date(Number(c.first_seen)).toISOString(),
      last_seen: c.last_seen === null ? null : new Date(Number(c.last_seen)).toISOString(),
      missing,
      gaps: missing > 0 ? await this.gaps(sessionRef, maxGaps) : [],
      boundary_reported_drops: null,
    };
  }

  private async gaps(sessionRef: number, limit: number): Promise<SequenceGap[]> {
    const rows = await this.run(
      `SELECT prev + 1 AS gap_from, seq - 1 AS gap_to FROM (
         SELECT sequence_number AS seq, lag(sequence_number, 1, -1) OVER (ORDER BY sequence_number) AS prev
         FROM (SELECT DISTINCT sequence_number FROM boundary_logs WHERE session_ref = ? AND sequence_number >= 0) d) w
       WHERE seq > prev + 1 ORDER BY seq LIMIT ?`,
      [sessionRef, limit],
    );
    return rows.map((r) => ({ from: Number(r.gap_from), to: Number(r.gap_to), missing: Number(r.gap_to) - Number(r.gap_from) + 1 }));
  }

  async agentsLastSeen(limit: number): Promise<AgentLastSeen[]> {
    const rows = await this.run(
      `SELECT agent_id, max(agent_name) AS agent_name, workspace_id, max(workspace_name) AS workspace_name,
              max(owner_name) AS owner_name, max(updated_at) AS last_seen
       FROM boundary_sessions GROUP BY agent_id, workspace_id ORDER BY last_seen DESC LIMIT ?`,
      [limit],
    );
    return rows.map(toAgentLastSeen);
  }
}
