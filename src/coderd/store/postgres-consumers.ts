// The consumers' queue of a PostgreSQL record table (boundary_logs, and
// process_logs for exec records): per consumer, one entry per stored batch
// holding the ids that insert stored, ascending (filled by the insert's own
// statement, so a committed record always has its entry). A consumer (the
// stderr lines) claims entries with FOR UPDATE SKIP LOCKED and a lease,
// splitting an entry larger than it asked for; advance() deletes what its
// last claim took. So replicas share the work, a dead replica's claims go to
// another when the lease runs out, and a record is handed out again only if
// its consumer died or failed before advancing: at least once, per
// consumer. Runs on the store's `lines` connection (synchronous_commit off:
// a crash may forget a claim or a move, so lines repeat, never vanish).
import { type PgPools, runPg } from "./postgres-pools.ts";

/** The tables one queue works on. */
export interface QueueTables {
  /** Consumer names (text primary key `consumer`). */
  consumers: string;
  /** Entries: id, consumer, log_ids bigint[], claimed_by, claimed_until. */
  entries: string;
  /** The records (bigint primary key `id`): a new consumer starts at the first. */
  records: string;
}

export class PgConsumerQueue {
  private readonly known = new Set<string>();
  /** Per consumer, the entries its last claim took. */
  private readonly claims = new Map<string, string[]>();

  /** Names this process's claims: unique per start. */
  private readonly claimant = crypto.randomUUID();

  constructor(
    private readonly pools: PgPools,
    private readonly t: QueueTables,
    private readonly leaseS: number,
  ) {}

  /**
   * The CTE body that queues, for every consumer, one entry holding the ids
   * CTE `stored` returned (ascending); nothing when it stored none. Part of
   * the insert's own statement, so a committed record always has its entry.
   */
  enqueueSql(stored: string): string {
    return `INSERT INTO ${this.t.entries} (consumer, log_ids)
         SELECT c.consumer, b.log_ids FROM ${this.t.consumers} c, (SELECT array_agg(id ORDER BY id) AS log_ids FROM ${stored}) b
         WHERE b.log_ids IS NOT NULL`;
  }

  /**
   * Claims up to `limit` of the consumer's queued records for the lease and
   * returns the entry ids taken (the records' ids stay in the database: read
   * them with `idsOf`). Oldest entry (by its first record) first: entries
   * nobody holds, or whose holder's lease ran out, or our own (a write of
   * ours that failed). An entry larger than what is left of `limit` is split:
   * the part taken becomes an entry of its own; the rest stays where it was.
   */
  async claim(consumer: string, limit: number): Promise<string[]> {
    await this.ensure(consumer);
    const table = this.t.entries;
    // One statement, so no transaction of ours is ever left open: a
    // multi-statement transaction whose connection dies between statements
    // could leave postgres.js waiting forever (seen in the outage test).
    // `sized` numbers the records before each locked entry; entries that fit
    // are claimed whole, the one that straddles `limit` is split: its first
    // ids become a new entry, claimed (`part`), the rest stay in place.
    // Both halves come from `locked`'s log_ids, the row version the lock
    // holds: when another replica split the entry after this statement's
    // snapshot was taken, FOR UPDATE returns its newer version, while a
    // plain read of the table would still give the older one (handing out
    // the other replica's part again, and losing as many ids of this one).
    const rows = await this.run(
      `WITH locked AS (
         SELECT id, log_ids, cardinality(log_ids) AS size, log_ids[1] AS first FROM ${table}
         WHERE consumer = $1 AND (claimed_until IS NULL OR claimed_until < now() OR claimed_by = $2)
         ORDER BY log_ids[1] LIMIT $3 FOR UPDATE SKIP LOCKED
       ), sized AS (
         SELECT id, log_ids, size, sum(size) OVER (ORDER BY first, id) - size AS before FROM locked
       ), whole AS (
         UPDATE ${table} e SET claimed_by = $2, claimed_until = now() + make_interval(secs => $4::int)
         FROM sized WHERE e.id = sized.id AND sized.before + sized.size <= $3
         RETURNING e.id
       ), straddling AS (
         SELECT id, log_ids, ($3 - before)::int AS taken FROM sized WHERE before < $3 AND before + size > $3
       ), rest AS (
         UPDATE ${table} e SET log_ids = s.log_ids[s.taken + 1:] FROM straddling s WHERE e.id = s.id
       ), part AS (
         INSERT INTO ${table} (consumer, log_ids, claimed_by, claimed_until)
         SELECT $1, s.log_ids[1:s.taken], $2, now() + make_interval(secs => $4::int)
         FROM straddling s
         RETURNING id
       )
       SELECT id FROM whole UNION ALL SELECT id FROM part`,
      [consumer, this.claimant, limit, this.leaseS],
      `reading records for ${consumer} failed`,
    );
    const claimed = rows.map((r) => String(r.id));
    this.claims.set(consumer, claimed);
    return claimed;
  }

  /** SQL selecting the record ids of entries `$n` (a bigint[] parameter), for `id IN (…)`. */
  idsOf(param: string): string {
    return `SELECT unnest(log_ids) FROM ${this.t.entries} WHERE id = ANY(${param}::bigint[])`;
  }

  /** Deletes the entries of the consumer's last claim that lie at or below `lastId`: those records are written. */
  async advance(consumer: string, lastId: number): Promise<void> {
    const claimed = this.claims.get(consumer) ?? [];
    if (claimed.length === 0) return;
    await this.run(
      `DELETE FROM ${this.t.entries}
       WHERE id = ANY($1::bigint[]) AND consumer = $2 AND claimed_by = $3 AND log_ids[cardinality(log_ids)] <= $4`,
      [claimed, consumer, this.claimant, lastId],
      `moving the cursor of ${consumer} failed`,
    );
  }

  /**
   * The start of a retention purge, as two CTEs: `lock`, the transaction's
   * advisory lock (parameter 1; taken by one replica at a time), and
   * `deleted`, the records captured before parameter 2 (at most parameter 3)
   * deleted under it. Only records every consumer has taken go (older than
   * the oldest id still queued; entries are ascending, so log_ids[1] is an
   * entry's oldest), never the newest record, so ids never repeat.
   */
  purgeCtesSql(): string {
    const { entries, records } = this.t;
    return `lock AS MATERIALIZED (
         SELECT pg_try_advisory_xact_lock(?::bigint) AS got
       ), deleted AS (
         DELETE FROM ${records} WHERE (SELECT got FROM lock) AND id IN (
           SELECT id FROM ${records} WHERE captured_at < ?
             AND id < (SELECT max(id) FROM ${records})
             AND id < coalesce((SELECT min(log_ids[1]) FROM ${entries}), 9223372036854775807)
           ORDER BY captured_at, id LIMIT ?)
         RETURNING id
       )`;
  }

  /** Gives this process's claims back at once (a clean stop), instead of when their lease runs out. */
  async release(): Promise<void> {
    await this.run(`UPDATE ${this.t.entries} SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1`, [this.claimant], "")
      .catch(() => {});
  }

  /** Registers a consumer the first time this process sees it; a new consumer starts at the first record (one statement). */
  private async ensure(consumer: string): Promise<void> {
    if (this.known.has(consumer)) return;
    const { consumers, entries, records } = this.t;
    await this.run(
      `WITH added AS (
         INSERT INTO ${consumers} (consumer) VALUES ($1) ON CONFLICT DO NOTHING RETURNING consumer
       )
       INSERT INTO ${entries} (consumer, log_ids)
       SELECT a.consumer, array_agg(r.id ORDER BY r.id) FROM added a, ${records} r GROUP BY a.consumer, r.id / 1000 ORDER BY r.id / 1000`,
      [consumer],
      `registering the consumer ${consumer} failed`,
    );
    this.known.add(consumer);
  }

  /** One statement on the lines' connection; failures become StoreErrors saying what was being done. */
  private run(text: string, params: unknown[], doing: string): Promise<Record<string, unknown>[]> {
    return runPg(this.pools, "lines", text, params, doing);
  }
}
