// Small SQL-building pieces the store files share: a WHERE clause built
// filter by filter (values always bound, never spliced), the record filters
// that apply alike to records and to the hourly rollup, and the cut of a
// newest-first page fetched with one row too many; the row mappers and
// session-list filters the SQLite and PostgreSQL stores share.
import type { SqliteDatabase } from "../../runtime/adapter.ts";
import type { AgentLastSeen, LogFilter, Page, PagePosition, SessionQuery, TimeseriesPoint, TimeseriesQuery, WorkspaceStats } from "./store.ts";

type Row = Record<string, unknown>;

/**
 * Moves a consumer's cursor forward, never back (parameters: consumer, last
 * id), in `table` (consumer_cursors, or process_consumer_cursors for exec records).
 */
export const advanceCursorSql = (table: string) =>
  `INSERT INTO ${table} (consumer, last_id) VALUES (?, ?)
   ON CONFLICT (consumer) DO UPDATE SET last_id = max(last_id, excluded.last_id)`;

/**
 * Runs a cursor move (`move`, a statement of advanceCursorSql) on an SQLite
 * connection whose commits are `synchronous`, without an fsync of its own:
 * a cursor move lost to a power cut only repeats lines.
 */
export function withoutOwnFsync(db: SqliteDatabase, synchronous: "NORMAL" | "FULL", move: () => void): void {
  if (synchronous !== "NORMAL") db.exec("PRAGMA synchronous = NORMAL");
  try {
    move();
  } finally {
    if (synchronous !== "NORMAL") db.exec(`PRAGMA synchronous = ${synchronous}`);
  }
}

/** WHERE clauses and their parameters, built up filter by filter. */
export class Where {
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

/** The first `limit` of `rows` (fetched as limit + 1), and where the next page starts when there is one. */
export function newestFirstPage<T>(rows: Row[], limit: number, atColumn: string, map: (r: Row) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = rows.length > limit ? items[items.length - 1] : undefined;
  const next: PagePosition | null = last ? { at: Number(last[atColumn]), id: Number(last.id) } : null;
  return { items: items.map(map), next };
}

/** Where the columns a filter compares live: records joined with sessions, or the rollup. */
export interface FilterColumns {
  host: string;
  allowed: string;
  workspaceId: string;
  workspaceName: string;
  ownerName: string;
  processName: string;
}

export const RECORD_COLUMNS: FilterColumns = {
  host: "l.http_host", allowed: "l.allowed", workspaceId: "s.workspace_id", workspaceName: "s.workspace_name",
  ownerName: "s.owner_name", processName: "s.confined_process_name",
};

export const ROLLUP_COLUMNS: FilterColumns = {
  host: "r.http_host", allowed: "r.allowed", workspaceId: "r.workspace_id", workspaceName: "r.workspace_name",
  ownerName: "r.owner_name", processName: "r.confined_process_name",
};

/** The two filters whose SQL differs between engines: a host suffix and a substring test. */
export interface FilterDialect {
  /** The last `?` characters of the host column given. */
  hostSuffix: (host: string) => string;
  /** True when `?` occurs in l.http_url. */
  urlContains: string;
}

export const SQLITE_FILTERS: FilterDialect = { hostSuffix: (host) => `substr(${host}, -?)`, urlContains: "instr(l.http_url, ?) > 0" };
export const PG_FILTERS: FilterDialect = { hostSuffix: (host) => `right(${host}, ?::int)`, urlContains: "strpos(l.http_url, ?) > 0" };

/** The filters on host, decision and workspace identity (not time, not url_contains), added to `w`. */
export function attributeWhere(q: LogFilter, c: FilterColumns, w = new Where(), dialect = SQLITE_FILTERS): Where {
  if (q.host) w.add(`${c.host} = ?`, q.host);
  if (q.domain) w.add(`(${c.host} = ? OR ${dialect.hostSuffix(c.host)} = ?)`, q.domain, q.domain.length + 1, `.${q.domain}`);
  if (q.decision) w.add(`${c.allowed} = ?`, q.decision === "allow" ? 1 : 0);
  if (q.workspaceId) w.add(`${c.workspaceId} = ?`, q.workspaceId);
  if (q.workspace) w.add(`${c.workspaceName} = ?`, q.workspace);
  if (q.owner) w.add(`${c.ownerName} = ?`, q.owner);
  if (q.process) w.add(`${c.processName} = ?`, q.process);
  return w;
}

/** A row of a per-workspace allow/deny count (numbers may come back as text or bigint). */
export function toWorkspaceStats(r: Row): WorkspaceStats {
  return {
    workspace_id: String(r.workspace_id),
    workspace_name: String(r.workspace_name),
    owner_name: String(r.owner_name),
    allowed: Number(r.allowed),
    denied: Number(r.denied),
  };
}

/** Every bucket of the window, from rows of (bucket index, allowed, denied); buckets without rows count 0. */
export function timeseriesPoints(rows: Row[], q: Pick<TimeseriesQuery, "since" | "until" | "bucketMs">): TimeseriesPoint[] {
  const counts = new Map(rows.map((r) => [Number(r.bucket), r]));
  const points: TimeseriesPoint[] = [];
  for (let i = 0, at = q.since.getTime(); at < q.until.getTime(); i++, at += q.bucketMs) {
    const r = counts.get(i);
    points.push({ at, allowed: Number(r?.allowed ?? 0), denied: Number(r?.denied ?? 0) });
  }
  return points;
}

/** The filters of a session list over boundary_sessions; `keyed` is the engine's test of the keyed column. */
export function sessionListWhere(q: SessionQuery, keyed: string): Where {
  const w = new Where().add(keyed);
  if (q.workspaceId) w.add("workspace_id = ?", q.workspaceId);
  if (q.since) w.add("updated_at >= ?", q.since.getTime());
  if (q.until) w.add("started_at < ?", q.until.getTime());
  if (q.after) w.add("(started_at < ? OR (started_at = ? AND id < ?))", q.after.at, q.after.at, q.after.id);
  return w;
}

/** A row of the agents-last-seen aggregate. */
export function toAgentLastSeen(r: Row): AgentLastSeen {
  return {
    agent_id: String(r.agent_id),
    agent_name: String(r.agent_name),
    workspace_id: String(r.workspace_id),
    workspace_name: String(r.workspace_name),
    owner_name: String(r.owner_name),
    last_seen: new Date(Number(r.last_seen)).toISOString(),
  };
}
