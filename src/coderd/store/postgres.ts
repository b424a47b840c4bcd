// The PostgreSQL store (--db postgres://…), for one coderd or several
// replicas sharing one database (connections and errors: postgres-pools.ts;
// the consumers' queue: postgres-consumers.ts).
//
// Guarantees:
// - a batch is one statement, so one round trip and one transaction: the
//   session upsert, the records (arrays unnested, ON CONFLICT DO NOTHING
//   RETURNING on the unique (session, sequence, copy) index) and one queue
//   entry per consumer holding the ids of the newly stored records.
//   Concurrent batches commit in parallel (PostgreSQL's own group commit);
//   rows are exactly once across any number of replicas;
// - consumers (the stderr lines) take records by claiming queue entries
//   with FOR UPDATE SKIP LOCKED and a lease (CLAIM_LEASE_S), splitting an
//   entry larger than they asked for: replicas share the work, and entries a
//   dead replica had claimed are taken by another once the lease runs out.
//   advanceCursor deletes the entries claimed, so a record is handed out
//   again only when its consumer died (or failed) before advancing: at
//   least once, per consumer;
// - retention runs on one replica at a time (a transaction advisory lock)
//   and never deletes a record still queued for a consumer (nor a newer one);
// - PostgreSQL away is `unreachable` (ingest answers unavailable, /readyz
//   503); the pool reconnects by itself when it returns.
// Not guaranteed: lines in commit order across replicas (a claim takes
// entries by their oldest record, and gives its records in id order); the
// live tail (logsAfterId) may skip a record whose transaction committed
// after a later id's.
import { StoreError } from "./errors.ts";
import { PgConsumerQueue } from "./postgres-consumers.ts";
import { closePgPools, openPgPools, type PgPoolOptions, type PgPools, type PoolName, runPg } from "./postgres-pools.ts";
import { PgQueries } from "./postgres-queries.ts";
import { newestFirstPage, sessionListWhere, Where } from "./sql-parts.ts";
import { LOG_COLUMNS, LOG_SELECT, recordsWithSessions, SESSION_COLUMNS, sessionOfRow, toRecord, toSession } from "./sqlite.ts";
import { firstOccurrences, IDENTITY_COLUMNS as IDENTITY } from "./sqlite-insert.ts";
import type {
  AgentLastSeen, InsertResult, LogFilter, LogQuery, LogSearch, NewBatch, Page, SessionLogsQuery, SessionQuery,
  SessionSummary, Store, StoredRecord, StoredSession, TimeseriesPoint, TimeseriesQuery, TimeWindow, TopDeniedQuery,
  TopQuery, WorkspaceStats,
} from "./store.ts";

export interface PostgresStoreOptions extends PgPoolOptions {
  /** Seconds a consumer's claim lasts before another replica may take its records (default 10). */
  claimLeaseS?: number;
}

export const CLAIM_LEASE_S = 10;
/** Advisory lock keys (any fixed numbers; migrations use another). */
export const RETENTION_LOCK = "7092164953162589795";
const PING_TIMEOUT_MS = 3000;

type Row = Record<string, unknown>;

export class PostgresStore implements Store {
  private readonly queries: PgQueries;
  private readonly queue: PgConsumerQueue;

  private constructor(
    private readonly pools: PgPools,
    leaseS: number,
  ) {
    this.queries = new PgQueries((text, params) => this.all(text, params));
    this.queue = new PgConsumerQueue(pools, { consumers: "consumers", entries: "consumer_batches", records: "boundary_logs" }, leaseS);
  }

  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    return new PostgresStore(await openPgPools(url, opts), opts.claimLeaseS ?? CLAIM_LEASE_S);
  }

  /** Runs SQL written with `?` placeholders (on the records' pool unless told); failures become StoreErrors. */
  private all(text: string, params: unknown[], doing = "query failed", on: PoolName = "sql"): Promise<Row[]> {
    return runPg(this.pools, on, text, params, doing);
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

  async insertBatch(batch: NewBatch): Promise<InsertResult> {
    if (batch.records.length === 0) return { stored: [], duplicates: 0 };
    const id = batch.identity;
    const r = batch.records;
    const rows = await this.all(
      `WITH s AS (
         INSERT INTO boundary_sessions (session_id, keyed, ${IDENTITY}, started_at, updated_at)
         VALUES (?, ?::boolean, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::bigint, ?::bigint)
         ON CONFLICT (session_id, workspace_id) DO UPDATE SET updated_at = excluded.updated_at
         RETURNING id
       ), ins AS (
         INSERT INTO boundary_logs (session_ref, dedup, copy, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at)
         SELECT s.id, d.dedup, CASE WHEN d.dedup THEN 0 ELSE nextval('boundary_logs_copy') END,
                r.seq, r.allowed, r.method, r.url, r.host, r.rule, r.event_time, ?::bigint
         FROM s, (SELECT ?::boolean AS dedup) d, unnest(?::int4[], ?::int2[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
           WITH ORDINALITY AS r (seq, allowed, method, url, host, rule, event_time, ord)
         ORDER BY r.seq, r.ord
         ON CONFLICT DO NOTHING
         RETURNING id, sequence_number
       ), queued AS (
         ${this.queue.enqueueSql("ins")}
       )
       SELECT sequence_number FROM ins`,
      [
        batch.sessionId, batch.deduplicate, id.agentId, id.agentName, id.workspaceId, id.workspaceName, id.ownerId,
        id.ownerName, id.templateId, id.templateVersionId, batch.confinedProcessName, batch.capturedAt.getTime(),
        batch.capturedAt.getTime(), batch.capturedAt.getTime(), batch.deduplicate,
        r.map((x) => x.sequenceNumber), r.map((x) => (x.allowed ? 1 : 0)), r.map((x) => x.httpMethod),
        r.map((x) => x.httpUrl), r.map((x) => x.httpHost), r.map((x) => x.matchedRule), r.map((x) => x.eventTime),
      ],
      "insert failed",
    );
    const stored = batch.deduplicate ? firstOccurrences(r, rows.map((row) => Number(row.sequence_number))) : r.map((_, i) => i);
    return { stored, duplicates: r.length - stored.length };
  }

  async listSessions(q: SessionQuery): Promise<Page<StoredSession>> {
    const w = sessionListWhere(q, "keyed");
    const rows = await this.all(
      `SELECT ${SESSION_COLUMNS} FROM boundary_sessions ${w.sql} ORDER BY started_at DESC, id DESC LIMIT ?`,
      [...w.params, q.limit + 1],
    );
    return newestFirstPage(rows, q.limit, "started_at", toSession);
  }

  async sessionLogs(q: SessionLogsQuery): Promise<StoredRecord[]> {
    const w = new Where().add("s.session_id = ?", q.sessionId);
    if (q.workspaceId) w.add("s.workspace_id = ?", q.workspaceId);
    if (q.afterSeq !== undefined) w.add("l.sequence_number > ?", q.afterSeq);
    if (q.beforeSeq !== undefined) w.add("l.sequence_number < ?", q.beforeSeq);
    const rows = await this.all(`${LOG_SELECT} ${w.sql} ORDER BY l.sequence_number, l.id LIMIT ?`, [...w.params, q.limit]);
    return rows.map(toRecord);
  }

  async listLogs(q: LogQuery): Promise<Page<StoredRecord>> {
    const w = window(q);
    if (q.workspaceId) w.add("s.workspace_id = ?", q.workspaceId);
    if (q.decision) w.add("l.allowed = ?", q.decision === "allow" ? 1 : 0);
    if (q.domain) w.add("l.http_host = ?", q.domain.toLowerCase());
    if (q.after) w.add("(l.captured_at < ? OR (l.captured_at = ? AND l.id < ?))", q.after.at, q.after.at, q.after.id);
    const rows = await this.all(`${LOG_SELECT} ${w.sql} ORDER BY l.captured_at DESC, l.id DESC LIMIT ?`, [...w.params, q.limit + 1]);
    return newestFirstPage(rows, q.limit, "captured_at", toRecord);
  }

  /** The query API's workspaceStats over a window only (kept for the Store interface, as in sqlite.ts). */
  stats(q: TimeWindow): Promise<WorkspaceStats[]> {
    return this.queries.workspaceStats({ since: q.since, until: q.until });
  }

  /** The query API's top denied over a window only (kept for the Store interface, as in sqlite.ts). */
  topDenied(q: TopDeniedQuery): Promise<{ value: string; count: number }[]> {
    return this.queries.top({ since: q.since, until: q.until, by: q.by, limit: q.limit, decision: "deny" });
  }

  async unconsumed(consumer: string, limit: number): Promise<StoredRecord[]> {
    const claimed = await this.queue.claim(consumer, limit);
    if (claimed.length === 0) return [];
    const doing = `reading records for ${consumer} failed`;
    // Records and their sessions apart, as in sqlite.ts: a join would send
    // each session's identity columns once per record.
    const rows = await this.all(`SELECT ${LOG_COLUMNS} FROM boundary_logs WHERE id IN (${this.queue.idsOf("?")}) ORDER BY id`, [claimed], doing, "lines");
    const refs = [...new Set(rows.map((r) => String(r.session_ref)))];
    const sessions = await this.all(`SELECT ${SESSION_COLUMNS} FROM boundary_sessions WHERE id = ANY(?::bigint[])`, [refs], doing, "lines");
    const byRef = new Map(sessions.map((r) => [String(r.id), sessionOfRow(r)]));
    return recordsWithSessions(rows, (ref) => byRef.get(String(ref))!);
  }

  advanceCursor(consumer: string, lastId: number): Promise<void> {
    return this.queue.advance(consumer, lastId);
  }

  /**
   * One statement (no transaction of ours left open if the connection dies,
   * see postgres-consumers.ts), holding the retention lock for its duration:
   * another replica's purge meanwhile deletes nothing. Only records every
   * consumer has taken, never the newest (PgConsumerQueue.purgeCtesSql).
   * A session goes when it is idle and has no record left but those
   * deleted here, unless a batch upserts it meanwhile: the outer updated_at
   * test is checked again on the row version we wait for, so its new
   * records keep their session.
   */
  async purgeBefore(cutoff: Date, limit: number): Promise<number> {
    const at = cutoff.getTime();
    const [row] = await this.all(
      `WITH ${this.queue.purgeCtesSql()}, sessions AS (
         DELETE FROM boundary_sessions WHERE (SELECT got FROM lock) AND updated_at < ? AND id IN (
           SELECT s.id FROM boundary_sessions s WHERE s.updated_at < ?
             AND NOT EXISTS (SELECT 1 FROM boundary_logs l WHERE l.session_ref = s.id AND l.id NOT IN (SELECT id FROM deleted))
           LIMIT ?)
       )
       SELECT count(*) AS n FROM deleted`,
      [RETENTION_LOCK, at, limit, at, at, limit],
      "retention purge failed",
    );
    return Number(row?.n ?? 0);
  }

  async ping(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreError("unreachable", `the database did not answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.all("SELECT 1 FROM boundary_logs LIMIT 1", [], "the database does not answer"), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    // Claims of a clean stop go back at once (a crash's wait for their lease).
    await this.queue.release();
    await closePgPools(this.pools);
  }
}

function window(q: TimeWindow): Where {
  const w = new Where();
  if (q.since) w.add("l.captured_at >= ?", q.since.getTime());
  if (q.until) w.add("l.captured_at < ?", q.until.getTime());
  return w;
}
