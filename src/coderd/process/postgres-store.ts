// Exec records in PostgreSQL (--db postgres://…): the process_logs table of
// migration 3 (store/postgres-migrations.ts), for one coderd or several
// replicas. As for boundary records (store/postgres.ts): a batch is one
// statement (rows unnested from arrays, ON CONFLICT on (workspace_id,
// boot_id, pid, monotonic_ns) DO NOTHING, and per consumer one queue entry
// holding the ids it stored), so execs are stored exactly once across
// replicas and each stored exec gets its exec line from some replica (the
// consumers' queue, store/postgres-consumers.ts, with a lease). Retention
// runs on one replica at a time and never deletes an exec still queued.
import { PgConsumerQueue } from "../store/postgres-consumers.ts";
import { closePgPools, openPgPools, type PgPools, runPg } from "../store/postgres-pools.ts";
import { CLAIM_LEASE_S, type PostgresStoreOptions } from "../store/postgres.ts";
import { rfc3339Nano } from "../../record/time.ts";
import {
  commandOf, EXEC_LIST, EXEC_LIST_ORDER, type ExecBatchToStore, execListWhere, execPage, type ExecQuery, eventTimeMs,
  type ProcessLogStore, type StoredExec, toStoredExec,
} from "./store.ts";
import type { Page } from "../store/store.ts";

/** Advisory lock of the exec purge (any fixed number; the boundary purge and migrations use others). */
export const PROCESS_RETENTION_LOCK = "7092164953162589796";

export class PostgresProcessLogStore implements ProcessLogStore {
  private readonly queue: PgConsumerQueue;

  private constructor(private readonly pools: PgPools, leaseS: number) {
    this.queue = new PgConsumerQueue(pools, { consumers: "process_consumers", entries: "process_consumer_batches", records: "process_logs" }, leaseS);
  }

  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresProcessLogStore> {
    return new PostgresProcessLogStore(await openPgPools(url, { maxConnections: 4, ...opts }), opts.claimLeaseS ?? CLAIM_LEASE_S);
  }

  async insertExecs(batch: ExecBatchToStore): Promise<number[]> {
    const { identity: id, execs } = batch;
    if (execs.length === 0) return [];
    const column = <T>(f: (e: (typeof execs)[number]) => T) => execs.map(f);
    const rows = await runPg(
      this.pools,
      "sql",
      `WITH ins AS (
         INSERT INTO process_logs (agent_id, workspace_id, workspace_name, owner_id, owner_name, template_id, template_version_id, boot_id,
           captured_at, pid, monotonic_ns, event_time, event_time_ms, ppid, uid, gid, filename, argv, comm, command, truncated, cmdline)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?::bigint, e.pid, e.monotonic_ns, e.event_time, e.event_time_ms, e.ppid, e.uid, e.gid,
                e.filename, e.argv, e.comm, e.command, e.truncated <> 0, e.cmdline
         FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[],
                     ?::text[], ?::text[], ?::int2[], ?::text[])
           WITH ORDINALITY AS e (pid, monotonic_ns, event_time, event_time_ms, ppid, uid, gid, filename, argv, comm, command, truncated, cmdline, ord)
         ORDER BY e.ord
         ON CONFLICT (workspace_id, boot_id, pid, monotonic_ns) DO NOTHING
         RETURNING id, pid, monotonic_ns
       ), queued AS (
         ${this.queue.enqueueSql("ins")}
       )
       SELECT pid, monotonic_ns FROM ins`,
      [
        id.agentId, id.workspaceId, id.workspaceName, id.ownerId, id.ownerName, id.templateId, id.templateVersionId, batch.bootId,
        batch.capturedAt.getTime(),
        column((e) => e.pid), column((e) => e.monotonicNs.toString()), column((e) => rfc3339Nano(e.time)), column(eventTimeMs),
        column((e) => e.ppid), column((e) => e.uid), column((e) => e.gid), column((e) => e.filename), column((e) => JSON.stringify(e.argv)),
        column((e) => e.comm), column(commandOf), column((e) => (e.truncated ? 1 : 0)), column((e) => e.cmdline),
      ],
      "storing exec records failed",
    );
    // The first of each (pid, monotonic_ns) the insert stored; a repeat in the batch conflicted with it.
    const stored = new Set(rows.map((r) => `${r.pid}/${r.monotonic_ns}`));
    const indexes: number[] = [];
    execs.forEach((e, i) => {
      const key = `${e.pid}/${e.monotonicNs}`;
      if (stored.delete(key)) indexes.push(i);
    });
    return indexes;
  }

  async listExecs(q: ExecQuery): Promise<Page<StoredExec>> {
    const w = execListWhere(q);
    return execPage(await runPg(this.pools, "sql", `${EXEC_LIST} ${w.sql} ${EXEC_LIST_ORDER}`, [...w.params, q.limit + 1], "listing exec records failed"), q.limit);
  }

  async unconsumed(consumer: string, limit: number): Promise<StoredExec[]> {
    const claimed = await this.queue.claim(consumer, limit);
    if (claimed.length === 0) return [];
    const rows = await runPg(
      this.pools,
      "lines",
      `SELECT * FROM process_logs WHERE id IN (${this.queue.idsOf("?")}) ORDER BY id`,
      [claimed],
      `reading exec records for ${consumer} failed`,
    );
    return rows.map(toStoredExec);
  }

  advanceCursor(consumer: string, lastId: number): Promise<void> {
    return this.queue.advance(consumer, lastId);
  }

  /** One statement under the exec retention lock (as the boundary purge): only execs every consumer has taken, never the newest. */
  async purgeBefore(cutoff: Date, limit: number): Promise<number> {
    const [row] = await runPg(
      this.pools,
      "sql",
      `WITH ${this.queue.purgeCtesSql()}
       SELECT count(*) AS n FROM deleted`,
      [PROCESS_RETENTION_LOCK, cutoff.getTime(), limit],
      "exec retention purge failed",
    );
    return Number(row?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.queue.release();
    await closePgPools(this.pools);
  }
}
