// Small SQL-building pieces both SQLite files use: a WHERE clause built
// filter by filter (values always bound, never spliced) and the cut of a
// newest-first page fetched with one row too many.
import type { Page, PagePosition } from "./store.ts";

type Row = Record<string, unknown>;

/**
 * Moves a consumer's cursor forward, never back (parameters: consumer, last
 * id), in `table` (consumer_cursors, or process_consumer_cursors for exec records).
 */
export const advanceCursorSql = (table: string) =>
  `INSERT INTO ${table} (consumer, last_id) VALUES (?, ?)
   ON CONFLICT (consumer) DO UPDATE SET last_id = max(last_id, excluded.last_id)`;

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
