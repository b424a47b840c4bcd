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
import type { Sql, TransactionSql } from "postgres";
import { pgStoreError } from "./postgres-pools.ts";

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

  constructor(
    private readonly lines: Sql,
    private readonly t: QueueTables,
    /** Names this process's claims: unique per start. */
    private readonly claimant: string,
    private readonly leaseS: number,
  ) {}

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
    let claimed: string[];
    try {
      claimed = await this.lines.begin((tx) => this.claimIn(tx, consumer, limit));
    } catch (err) {
      throw pgStoreError(err, `reading records for ${consumer} failed`);
    }
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
    try {
      await this.lines.unsafe(
        `DELETE FROM ${this.t.entries}
         WHERE id = ANY($1::bigint[]) AND consumer = $2 AND claimed_by = $3 AND log_ids[cardinality(log_ids)] <= $4`,
        [claimed, consumer, this.claimant, lastId],
      );
    } catch (err) {
      throw pgStoreError(err, `moving the cursor of ${consumer} failed`);
    }
  }

  /** SQL for the oldest record id still queued for any consumer (NULL when none), for the purge. */
  oldestQueuedSql(): string {
    return `SELECT min(log_ids[1]) FROM ${this.t.entries}`;
  }

  /** Gives this process's claims back at once (a clean stop), instead of when their lease runs out. */
  async release(): Promise<void> {
    await this.lines
      .unsafe(`UPDATE ${this.t.entries} SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1`, [this.claimant])
      .catch(() => {});
  }

  /** Registers a consumer the first time this process sees it; a new consumer starts at the first record. */
  private async ensure(consumer: string): Promise<void> {
    if (this.known.has(consumer)) return;
    const { consumers, entries, records } = this.t;
    try {
      await this.lines.begin(async (tx) => {
        const added = await tx.unsafe(`INSERT INTO ${consumers} (consumer) VALUES ($1) ON CONFLICT DO NOTHING RETURNING consumer`, [consumer]);
        if (added.length > 0) {
          await tx.unsafe(
            `INSERT INTO ${entries} (consumer, log_ids)
             SELECT $1, array_agg(id ORDER BY id) FROM ${records} GROUP BY id / 1000 ORDER BY id / 1000`,
            [consumer],
          );
        }
      });
    } catch (err) {
      throw pgStoreError(err, `registering the consumer ${consumer} failed`);
    }
    this.known.add(consumer);
  }

  private async claimIn(tx: TransactionSql, consumer: string, limit: number): Promise<string[]> {
    const { entries: table } = this.t;
    const entries = (await tx.unsafe(
      `SELECT id, cardinality(log_ids) AS size FROM ${table}
       WHERE consumer = $1 AND (claimed_until IS NULL OR claimed_until < now() OR claimed_by = $2)
       ORDER BY log_ids[1] LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [consumer, this.claimant, limit],
    )) as unknown as { id: string; size: number }[];
    const claimed: string[] = [];
    let room = limit;
    let split: { id: string; taken: number } | undefined;
    for (const e of entries) {
      if (room <= 0) break;
      if (e.size <= room) claimed.push(e.id);
      else split = { id: e.id, taken: room };
      room -= Math.min(e.size, room);
    }
    if (split) {
      const [part] = (await tx.unsafe(
        `INSERT INTO ${table} (consumer, log_ids) SELECT consumer, log_ids[1:$2] FROM ${table} WHERE id = $1 RETURNING id`,
        [split.id, split.taken],
      )) as unknown as { id: string }[];
      await tx.unsafe(`UPDATE ${table} SET log_ids = log_ids[$2:] WHERE id = $1`, [split.id, split.taken + 1]);
      claimed.push(part!.id);
    }
    if (claimed.length > 0) {
      await tx.unsafe(
        `UPDATE ${table} SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2::int) WHERE id = ANY($3::bigint[])`,
        [this.claimant, this.leaseS, claimed],
      );
    }
    return claimed;
  }
}
