// Small SQL-building pieces both SQLite files use: a WHERE clause built
// filter by filter (values always bound, never spliced) and the cut of a
// newest-first page fetched with one row too many.
import type { Page, PagePosition, TimeseriesPoint, TimeseriesQuery, WorkspaceStats } from "./store.ts";

type Row = Record<string, unknown>;

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
