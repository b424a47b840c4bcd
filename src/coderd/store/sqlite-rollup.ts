// Aggregates (workspace stats, top domains and workspaces, hourly and daily
// charts) answered from boundary_rollup_hourly (migration 5) plus the
// records of the partial hours at the window's edges (rollup-plan.ts), so
// the answer is exactly what a scan of every record gives. Each builder
// returns null when the rollup does not carry the query (event time,
// url_contains, top URLs, minute buckets): the caller then scans records.
//
// The SQL is one aggregate over a UNION ALL of rows shaped
// (dimensions…, allowed, n): rollup rows with n = their count, and the raw
// intervals' records with n = 1, each interval a range on captured_at.
import { attributeWhere, RECORD_COLUMNS, ROLLUP_COLUMNS, Where } from "./sql-parts.ts";
import { HOUR_MS, planBuckets, planWindow, rollupCarries, type RollupPlan } from "./rollup-plan.ts";
import type { LogFilter, TimeseriesQuery, TopQuery } from "./store.ts";

export interface Sql {
  sql: string;
  params: unknown[];
}

/** The dimensions one query groups by, as a rollup column and a record column. */
interface Dimensions {
  rollup: string;
  record: string;
  /** Bound before each branch's WHERE parameters (for expressions in the dimensions). */
  params: unknown[];
  /** The record side reads session columns. */
  session: boolean;
}

const needsSession = (q: LogFilter) => Boolean(q.workspaceId || q.workspace || q.owner || q.process);

/** The rows (dimensions…, allowed, n) of the rollup's whole hours and the raw intervals' records. */
function unionOf(q: LogFilter, plan: RollupPlan, d: Dimensions): Sql {
  const branches: string[] = [];
  const params: unknown[] = [];
  if (plan.hours) {
    const w = attributeWhere(q, ROLLUP_COLUMNS);
    if (plan.hours.from !== undefined) w.add("r.hour >= ?", plan.hours.from);
    if (plan.hours.to !== undefined) w.add("r.hour <= ?", plan.hours.to - HOUR_MS);
    if (plan.straddling) {
      const { origin, ms } = plan.straddling;
      w.add("(r.hour - ?) / ? = (r.hour + ? - ?) / ?", origin, ms, HOUR_MS - 1, origin, ms);
    }
    branches.push(`SELECT ${d.rollup}, r.allowed AS allowed, r.records AS n FROM boundary_rollup_hourly r ${w.sql}`);
    params.push(...d.params, ...w.params);
  }
  const from = d.session || needsSession(q)
    ? "boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref"
    : "boundary_logs l";
  for (const i of plan.raw) {
    const w = new Where().add("l.captured_at >= ?", i.from).add("l.captured_at < ?", i.to);
    attributeWhere(q, RECORD_COLUMNS, w);
    branches.push(`SELECT ${d.record}, l.allowed AS allowed, 1 AS n FROM ${from} ${w.sql}`);
    params.push(...d.params, ...w.params);
  }
  // No branch at all (an empty window): a union that yields no row.
  if (branches.length === 0) branches.push(`SELECT ${d.rollup}, r.allowed AS allowed, r.records AS n FROM boundary_rollup_hourly r WHERE 0`);
  return { sql: branches.join("\nUNION ALL\n"), params };
}

/** Per-workspace allow/deny counts (rows as SqliteQueries.workspaceStats reads them). */
export function rollupWorkspaceStats(q: LogFilter): Sql | null {
  if (!rollupCarries(q)) return null;
  const rows = unionOf(q, planWindow(q.since?.getTime(), q.until?.getTime()), {
    rollup: "r.workspace_id AS workspace_id, r.workspace_name AS workspace_name, r.owner_name AS owner_name",
    record: "s.workspace_id AS workspace_id, s.workspace_name AS workspace_name, s.owner_name AS owner_name",
    params: [],
    session: true,
  });
  return {
    sql: `SELECT workspace_id, max(workspace_name) AS workspace_name, max(owner_name) AS owner_name,
            sum(allowed * n) AS allowed, sum((1 - allowed) * n) AS denied
          FROM (${rows.sql}) GROUP BY workspace_id ORDER BY workspace_id`,
    params: rows.params,
  };
}

/** The most frequent hosts or workspace names (rows: value, count); URLs are not in the rollup. */
export function rollupTop(q: TopQuery & { decision: "allow" | "deny" }): Sql | null {
  if (!rollupCarries(q) || q.by === "url") return null;
  const byDomain = q.by === "domain";
  const rows = unionOf(q, planWindow(q.since?.getTime(), q.until?.getTime()), {
    rollup: byDomain ? "r.http_host AS value" : "r.workspace_name AS value",
    record: byDomain ? "l.http_host AS value" : "s.workspace_name AS value",
    params: [],
    session: !byDomain,
  });
  return {
    sql: `SELECT value, sum(n) AS count FROM (${rows.sql}) GROUP BY value ORDER BY count DESC, value ASC LIMIT ?`,
    params: [...rows.params, q.limit],
  };
}

/** Allow/deny counts per bucket (rows: bucket index, allowed, denied); buckets of whole hours only. */
export function rollupTimeseries(q: TimeseriesQuery): Sql | null {
  if (!rollupCarries(q)) return null;
  const since = q.since.getTime();
  const plan = planBuckets(since, q.until.getTime(), q.bucketMs);
  if (!plan) return null;
  const rows = unionOf(q, plan, {
    rollup: "(r.hour - ?) / ? AS bucket",
    record: "(l.captured_at - ?) / ? AS bucket",
    params: [since, q.bucketMs],
    session: false,
  });
  return {
    sql: `SELECT bucket, sum(allowed * n) AS allowed, sum((1 - allowed) * n) AS denied FROM (${rows.sql}) GROUP BY bucket`,
    params: rows.params,
  };
}
