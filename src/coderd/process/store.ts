// Storage of exec records (table process_logs, created by the SQLite
// migration after the boundary tables). Its own connection to coderd's
// SQLite file (WAL lets both connections work at once), so the boundary
// Store stays as it is. A batch is one transaction: once insertExecs
// resolves, its new rows are durable (synchronous=FULL) and only then are
// they acknowledged. De-duplication: one row per (workspace_id, boot_id, pid,
// monotonic_ns); a repeat is counted, not stored.
// Consumers (the stderr exec lines first) read what was committed after their
// cursor (table process_consumer_cursors, migration 5) and move it; retention
// deletes only rows every consumer has taken, as for boundary records.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ProcessExec } from "../../gen/boundaryrelay/v1/process_pb.ts";
import type { AgentIdentity } from "../../record/identity.ts";
import { rfc3339Nano } from "../../record/time.ts";
import { openSqlite, type SqliteDatabase, type SqliteStatement } from "../../runtime/adapter.ts";
import { migrate } from "../store/migrations.ts";
import { advanceCursorSql, newestFirstPage, Where, withoutOwnFsync } from "../store/sql-parts.ts";
import type { Page, PagePosition, TimeWindow } from "../store/store.ts";

export interface ExecBatchToStore {
  identity: AgentIdentity;
  bootId: string;
  capturedAt: Date;
  execs: ProcessExec[];
}

export interface StoredExec {
  id: number;
  workspace_id: string;
  workspace_name: string;
  owner_id: string;
  owner_name: string;
  agent_id: string;
  template_id: string;
  template_version_id: string;
  boot_id: string;
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  filename: string;
  argv: string[];
  comm: string;
  /** Base name of the program: what the `command` filter matches. */
  command: string;
  truncated: boolean;
  cmdline: string;
  event_time: string;
  captured_at: string;
}

export interface ExecQuery extends TimeWindow {
  workspaceId?: string;
  owner?: string;
  command?: string;
  limit: number;
  after?: PagePosition;
}

export interface ProcessLogStore {
  /** Indexes into batch.execs of the execs newly stored, in order; the rest were duplicates. */
  insertExecs(batch: ExecBatchToStore): Promise<number[]>;
  /** Newest first by event time; since/until bound the event time. */
  listExecs(q: ExecQuery): Promise<Page<StoredExec>>;
  /** Execs committed after `consumer`'s cursor, oldest first (ascending id), at most `limit`. */
  unconsumed(consumer: string, limit: number): Promise<StoredExec[]>;
  /** Moves `consumer`'s cursor forward to `lastId` (never back); a lost move repeats, never skips. */
  advanceCursor(consumer: string, lastId: number): Promise<void>;
  /**
   * Deletes up to `limit` execs captured before `cutoff` that every consumer
   * has taken (and never the newest, so ids never repeat); returns how many.
   */
  purgeBefore(cutoff: Date, limit: number): Promise<number>;
  close(): Promise<void>;
}

/** The program's base name: of the file run, else of argv[0], else comm. */
export function commandOf(exec: Pick<ProcessExec, "filename" | "argv" | "comm">): string {
  const path = exec.filename || exec.argv[0] || "";
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base || exec.comm;
}

const COLUMNS = `agent_id, workspace_id, workspace_name, owner_id, owner_name, template_id, template_version_id, boot_id, pid,
  monotonic_ns, event_time, event_time_ms, ppid, uid, gid, filename, argv, comm, command, truncated, cmdline, captured_at`;
const INSERT = `INSERT INTO process_logs (${COLUMNS}) VALUES (${COLUMNS.split(",").map(() => "?").join(", ")})
  ON CONFLICT (workspace_id, boot_id, pid, monotonic_ns) DO NOTHING RETURNING id`;

type Row = Record<string, unknown>;

export function toStoredExec(r: Row): StoredExec {
  return {
    id: Number(r.id),
    workspace_id: String(r.workspace_id),
    workspace_name: String(r.workspace_name),
    owner_id: String(r.owner_id),
    owner_name: String(r.owner_name),
    agent_id: String(r.agent_id),
    template_id: String(r.template_id),
    template_version_id: String(r.template_version_id),
    boot_id: String(r.boot_id),
    pid: Number(r.pid),
    ppid: Number(r.ppid),
    uid: Number(r.uid),
    gid: Number(r.gid),
    filename: String(r.filename),
    argv: JSON.parse(String(r.argv)) as string[],
    comm: String(r.comm),
    command: String(r.command),
    truncated: r.truncated === true || Number(r.truncated) === 1,
    cmdline: String(r.cmdline),
    event_time: String(r.event_time),
    captured_at: new Date(Number(r.captured_at)).toISOString(),
  };
}

export const eventTimeMs = (e: ProcessExec) => Number(e.time?.seconds ?? 0n) * 1000 + Math.floor((e.time?.nanos ?? 0) / 1e6);

/** The list query's filters, with `?` placeholders (both stores' SQL). */
export function execListWhere(q: ExecQuery): Where {
  const w = new Where();
  if (q.workspaceId !== undefined) w.add("workspace_id = ?", q.workspaceId);
  if (q.owner !== undefined) w.add("owner_name = ?", q.owner);
  if (q.command !== undefined) w.add("command = ?", q.command);
  if (q.since) w.add("event_time_ms >= ?", q.since.getTime());
  if (q.until) w.add("event_time_ms < ?", q.until.getTime());
  if (q.after) w.add("(event_time_ms < ? OR (event_time_ms = ? AND id < ?))", q.after.at, q.after.at, q.after.id);
  return w;
}

export const EXEC_LIST = "SELECT * FROM process_logs";
/** Newest first; the `?` is the page size plus one. */
export const EXEC_LIST_ORDER = "ORDER BY event_time_ms DESC, id DESC LIMIT ?";

/** A page of `limit` from rows read with limit + 1. */
export function execPage(rows: Row[], limit: number): Page<StoredExec> {
  return newestFirstPage(rows, limit, "event_time_ms", toStoredExec);
}

export class SqliteProcessLogStore implements ProcessLogStore {
  private readonly statements = new Map<string, SqliteStatement>();

  private constructor(private readonly db: SqliteDatabase) {}

  /** Opens `path` (the coderd --db file), migrating it if this connection is first. */
  static async open(path: string, busyTimeoutMs = 5000): Promise<SqliteProcessLogStore> {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = await openSqlite(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteProcessLogStore(db);
  }

  private stmt(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  async insertExecs(batch: ExecBatchToStore): Promise<number[]> {
    const { identity: id, bootId } = batch;
    const capturedAt = batch.capturedAt.getTime();
    const insert = this.stmt(INSERT);
    const stored: number[] = [];
    this.db.exec("BEGIN IMMEDIATE");
    try {
      batch.execs.forEach((e, i) => {
        const rows = insert.all(
          id.agentId, id.workspaceId, id.workspaceName, id.ownerId, id.ownerName, id.templateId, id.templateVersionId, bootId, e.pid,
          e.monotonicNs, rfc3339Nano(e.time), eventTimeMs(e), e.ppid, e.uid, e.gid, e.filename, JSON.stringify(e.argv), e.comm,
          commandOf(e), e.truncated ? 1 : 0, e.cmdline, capturedAt,
        );
        if (rows.length > 0) stored.push(i);
      });
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
    return stored;
  }

  async listExecs(q: ExecQuery): Promise<Page<StoredExec>> {
    const w = execListWhere(q);
    const rows = this.db.prepare(`${EXEC_LIST} ${w.sql} ${EXEC_LIST_ORDER}`).all<Row>(...w.params, q.limit + 1);
    return execPage(rows, q.limit);
  }

  async unconsumed(consumer: string, limit: number): Promise<StoredExec[]> {
    const rows = this.stmt(
      `SELECT * FROM process_logs WHERE id > COALESCE((SELECT last_id FROM process_consumer_cursors WHERE consumer = ?), 0)
       ORDER BY id LIMIT ?`,
    ).all<Row>(consumer, limit);
    return rows.map(toStoredExec);
  }

  async advanceCursor(consumer: string, lastId: number): Promise<void> {
    withoutOwnFsync(this.db, "FULL", () => this.stmt(advanceCursorSql("process_consumer_cursors")).run(consumer, lastId));
  }

  async purgeBefore(cutoff: Date, limit: number): Promise<number> {
    const { changes } = this.stmt(
      `DELETE FROM process_logs WHERE id IN
         (SELECT id FROM process_logs WHERE captured_at < ?
            AND id < (SELECT COALESCE(MIN(last_id), 0) FROM process_consumer_cursors)
          ORDER BY captured_at, id LIMIT ?)`,
    ).run(cutoff.getTime(), limit);
    return changes;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
