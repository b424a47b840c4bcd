// The write side of the SQLite store: a group of ingest batches in one
// transaction, each batch in a savepoint (a batch that fails is rolled back
// alone), records inserted many rows per statement (RETURNING tells which
// were new), the hourly rollup counted once per batch from the records it
// stored; and consumer cursor moves. Runs wherever the writing
// connection lives: the writer worker (sqlite-writer-worker.ts) or, for an
// in-memory database, the store's own connection.
import type { SqliteDatabase, SqliteStatement } from "../../runtime/adapter.ts";
import type { Outcome } from "./group-commit.ts";
import { storeErrorOf } from "./sqlite-errors.ts";
import { floorHour } from "./rollup-plan.ts";
import { advanceCursorSql, withoutOwnFsync } from "./sql-parts.ts";
import { StatementCache } from "./statement-cache.ts";
import type { InsertResult, NewBatch, SessionIdentity } from "./store.ts";

export const IDENTITY_COLUMNS = "agent_id, agent_name, workspace_id, workspace_name, owner_id, owner_name, template_id, template_version_id, confined_process_name";
const IDENTITY = IDENTITY_COLUMNS;
const LOG_INSERT_COLUMNS = "session_ref, dedup, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at";
/** Rows per INSERT statement: fewer crossings into SQLite, measured best near 50. */
const ROWS_PER_INSERT = 50;
/** Rollup rows per upsert statement (8 parameters each). */
const ROLLUP_ROWS_PER_UPSERT = 100;

/** A session row as its records show it: the identity of its first batch. */
export interface CommittedSession extends SessionIdentity {
  session_id: string;
}

/**
 * What the writer tells the store of a batch: the caller's result and,
 * unless RETURNING could not be matched to the records, the ids the stored
 * records got (in `stored`'s order) and their session as stored: what the
 * store's commit listener is told.
 */
export interface BatchWritten extends InsertResult {
  committed?: { ids: number[]; session: CommittedSession };
}

/** The batch's session row as stored, and its row id. */
interface StoredSession extends CommittedSession {
  id: number;
}

/**
 * Indexes of the records a de-duplicating insert stored, given the sequence
 * numbers it returned: a number repeated within the batch counts once, at
 * its first occurrence.
 */
export function firstOccurrences(records: NewBatch["records"], returned: number[]): number[] {
  const fresh = new Set(returned);
  const stored: number[] = [];
  records.forEach((r, i) => {
    if (fresh.delete(r.sequenceNumber)) stored.push(i);
  });
  return stored;
}

export class BatchWriter {
  private readonly statements: StatementCache;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly synchronous: "NORMAL" | "FULL",
  ) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string): SqliteStatement {
    return this.statements.get(sql);
  }

  /**
   * One transaction for the batches that arrived together, each in a
   * savepoint so that a batch that fails is rolled back alone; its COMMIT
   * returning is the one fsync that makes them all durable.
   */
  commit(batches: NewBatch[]): Outcome<BatchWritten>[] {
    const outcomes: Outcome<BatchWritten>[] = [];
    this.db.exec("BEGIN IMMEDIATE");
    try {
      for (const batch of batches) {
        this.db.exec("SAVEPOINT batch");
        try {
          outcomes.push({ ok: true, value: this.insertOne(batch) });
        } catch (err) {
          // An error that ended the transaction makes this throw too: then the whole group fails.
          this.db.exec("ROLLBACK TO batch");
          outcomes.push({ ok: false, error: storeErrorOf(err, "insert failed") });
        }
        this.db.exec("RELEASE batch");
      }
      this.db.exec("COMMIT");
    } catch (err) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // The failed statement may have rolled back already.
      }
      throw storeErrorOf(err, "insert failed");
    }
    return outcomes;
  }

  /** Inserts one batch inside the open transaction. */
  private insertOne(batch: NewBatch): BatchWritten {
    const capturedAt = batch.capturedAt.getTime();
    const dedup = batch.deduplicate ? 1 : 0;
    const returned: number[] = [];
    const ids: number[] = [];
    const session = this.upsertSession(batch, capturedAt);
    const sessionRef = session.id;
    for (let from = 0; from < batch.records.length; from += ROWS_PER_INSERT) {
      const chunk = batch.records.slice(from, from + ROWS_PER_INSERT);
      const params: unknown[] = [];
      for (const r of chunk) {
        params.push(sessionRef, dedup, r.sequenceNumber, r.allowed ? 1 : 0, r.httpMethod, r.httpUrl, r.httpHost,
          r.matchedRule, r.eventTime, capturedAt);
      }
      for (const row of this.insertLogs(chunk.length).all<{ id: number; sequence_number: number }>(...params)) {
        returned.push(row.sequence_number);
        ids.push(row.id);
      }
    }
    const stored = dedup ? firstOccurrences(batch.records, returned) : batch.records.map((_, i) => i);
    this.countInRollup(session, capturedAt, stored.map((i) => batch.records[i]!));
    const result: BatchWritten = { stored, duplicates: batch.records.length - stored.length };
    // RETURNING gives rows in insertion order; should it ever not, the ids are left out (consumers then read them back).
    if (ids.length === stored.length && stored.every((i, k) => batch.records[i]!.sequenceNumber === returned[k])) {
      const { id: _, ...committed } = session;
      result.committed = { ids, session: committed };
    }
    return result;
  }

  /** The batch's session row (made on its first batch), with the identity it was stored with. */
  private upsertSession(batch: NewBatch, capturedAt: number): StoredSession {
    const id = batch.identity;
    const row = this.stmt(
      `INSERT INTO boundary_sessions (session_id, keyed, ${IDENTITY}, started_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, workspace_id) DO UPDATE SET updated_at = excluded.updated_at
       RETURNING id, session_id, ${IDENTITY}`,
    ).get<StoredSession>(
      batch.sessionId, batch.deduplicate ? 1 : 0, id.agentId, id.agentName, id.workspaceId, id.workspaceName,
      id.ownerId, id.ownerName, id.templateId, id.templateVersionId, batch.confinedProcessName, capturedAt, capturedAt,
    );
    return row!;
  }

  /**
   * Adds the records a batch stored to the hourly rollup (migration 5's
   * table): a batch shares one capture time and one session, so one row per
   * (host, decision) it holds, rather than one upsert per record, which is
   * what the per-record trigger this replaced (migration 7) cost.
   */
  private countInRollup(session: StoredSession, capturedAt: number, records: NewBatch["records"]): void {
    if (records.length === 0) return;
    const hour = floorHour(capturedAt);
    const counts = new Map<string, { host: string; allowed: number; n: number }>();
    for (const r of records) {
      const key = `${r.allowed ? 1 : 0}${r.httpHost}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { host: r.httpHost, allowed: r.allowed ? 1 : 0, n: 1 });
    }
    const rows = [...counts.values()];
    for (let from = 0; from < rows.length; from += ROLLUP_ROWS_PER_UPSERT) {
      const chunk = rows.slice(from, from + ROLLUP_ROWS_PER_UPSERT);
      const params: unknown[] = [];
      for (const c of chunk) {
        params.push(hour, session.workspace_id, session.workspace_name, session.owner_name, session.confined_process_name, c.host, c.allowed, c.n);
      }
      this.upsertRollup(chunk.length).run(...params);
    }
  }

  private upsertRollup(rows: number): SqliteStatement {
    const values = Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ");
    return this.stmt(
      `INSERT INTO boundary_rollup_hourly (hour, workspace_id, workspace_name, owner_name, confined_process_name, http_host, allowed, records)
       VALUES ${values} ON CONFLICT DO UPDATE SET records = records + excluded.records`,
    );
  }

  private insertLogs(rows: number): SqliteStatement {
    const values = Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ");
    return this.stmt(
      `INSERT INTO boundary_logs (${LOG_INSERT_COLUMNS}) VALUES ${values} ON CONFLICT DO NOTHING RETURNING id, sequence_number`,
    );
  }

  /** Moves a consumer's cursor forward (never back), without an fsync of its own. */
  advanceCursor(consumer: string, lastId: number): void {
    try {
      withoutOwnFsync(this.db, this.synchronous, () => this.stmt(advanceCursorSql("consumer_cursors")).run(consumer, lastId));
    } catch (err) {
      throw storeErrorOf(err, `moving the cursor of ${consumer} failed`);
    }
  }

  close(): void {
    this.statements.clear();
  }
}
