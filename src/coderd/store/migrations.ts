// SQLite schema, versioned in code. Migration N brings the database from
// user_version N-1 to N; each runs in its own transaction, so a crash
// halfway leaves the previous version intact. Never edit a shipped
// migration: add the next one.
//
// A session row holds the identity of the agent that wrote it; each record
// points at its session (session_ref) instead of repeating the identity, so
// an insert writes one narrow row and three index entries. Records of a
// session whose id is a UUID have dedup = 1, and the partial unique index
// over (session_ref, sequence_number) de-duplicates them; records of a batch
// without a valid session id (dedup = 0) are stored as they come. Sessions
// with a UUID id are "keyed": only those are listed by the sessions API.
import type { SqliteDatabase } from "../../runtime/adapter.ts";
import { StoreError } from "./errors.ts";

export const MIGRATIONS: string[] = [
  `
  CREATE TABLE boundary_sessions (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    keyed INTEGER NOT NULL,
    agent_id TEXT NOT NULL,
    agent_name TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    workspace_name TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    template_id TEXT NOT NULL,
    template_version_id TEXT NOT NULL,
    confined_process_name TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX boundary_sessions_key ON boundary_sessions (session_id, workspace_id);
  CREATE INDEX boundary_sessions_started ON boundary_sessions (started_at, id);
  CREATE INDEX boundary_sessions_workspace ON boundary_sessions (workspace_id, started_at, id);
  CREATE INDEX boundary_sessions_updated ON boundary_sessions (updated_at);

  CREATE TABLE boundary_logs (
    id INTEGER PRIMARY KEY,
    session_ref INTEGER NOT NULL REFERENCES boundary_sessions (id),
    dedup INTEGER NOT NULL,
    sequence_number INTEGER NOT NULL,
    allowed INTEGER NOT NULL,
    http_method TEXT NOT NULL,
    http_url TEXT NOT NULL,
    http_host TEXT NOT NULL,
    matched_rule TEXT NOT NULL,
    event_time TEXT NOT NULL,
    captured_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX boundary_logs_dedup ON boundary_logs (session_ref, sequence_number) WHERE dedup = 1;
  CREATE INDEX boundary_logs_session_seq ON boundary_logs (session_ref, sequence_number);
  CREATE INDEX boundary_logs_captured ON boundary_logs (captured_at);
  `,
  // 2: consumer cursors. A consumer of stored records (the stderr lines are
  // the first) remembers the id of the last record it took. The stderr
  // cursor starts after the records already stored: code before this
  // migration printed their lines at ingest.
  `
  CREATE TABLE consumer_cursors (
    consumer TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO consumer_cursors (consumer, last_id) SELECT 'stderr', COALESCE(MAX(id), 0) FROM boundary_logs;
  `,
  // 3 (console): the query API's and console's filters and aggregates. An
  // exact host pages newest first from its own index; aggregates over a time
  // window read only the covering index, never the table.
  `
  CREATE INDEX boundary_logs_host_captured ON boundary_logs (http_host, captured_at);
  CREATE INDEX boundary_logs_captured_cover ON boundary_logs (captured_at, allowed, http_host, session_ref);
  CREATE INDEX boundary_sessions_agent ON boundary_sessions (agent_id, workspace_id, updated_at);
  `,
  // 4 (process): exec records (--process-log; src/coderd/process/store.ts). Each
  // row carries its workspace identity (no session to point at). One exec is
  // one (workspace_id, boot_id, pid, monotonic_ns): the kernel's clock since
  // boot, the pid and the boot name it exactly, so a batch re-sent is stored once.
  `
  CREATE TABLE process_logs (
    id INTEGER PRIMARY KEY,
    agent_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    workspace_name TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    template_id TEXT NOT NULL,
    template_version_id TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    monotonic_ns INTEGER NOT NULL,
    event_time TEXT NOT NULL,
    event_time_ms INTEGER NOT NULL,
    ppid INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    filename TEXT NOT NULL,
    argv TEXT NOT NULL,
    comm TEXT NOT NULL,
    command TEXT NOT NULL,
    truncated INTEGER NOT NULL,
    cmdline TEXT NOT NULL,
    captured_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX process_logs_dedup ON process_logs (workspace_id, boot_id, pid, monotonic_ns);
  CREATE INDEX process_logs_time ON process_logs (event_time_ms, id);
  CREATE INDEX process_logs_workspace ON process_logs (workspace_id, event_time_ms, id);
  CREATE INDEX process_logs_owner ON process_logs (owner_name, event_time_ms, id);
  CREATE INDEX process_logs_captured ON process_logs (captured_at);
  `,
  // 5 (rollups): allow/deny counts per captured hour, workspace identity,
  // host and decision, so stats, top lists and hourly/daily charts read a
  // few thousand rows instead of every record (sqlite-rollup.ts). Kept by
  // triggers, so every way a record is stored or deleted (ingest,
  // retention, a hand-written DELETE) keeps the counts true; a row whose
  // count reaches 0 goes. Sessions never change their identity columns
  // (the session upsert only moves updated_at), so the insert trigger's
  // copy of them stays right. Back-filled from the records already stored.
  `
  CREATE TABLE boundary_rollup_hourly (
    hour INTEGER NOT NULL,
    workspace_id TEXT NOT NULL,
    workspace_name TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    confined_process_name TEXT NOT NULL,
    http_host TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (hour, workspace_id, workspace_name, owner_name, confined_process_name, http_host, allowed)
  ) WITHOUT ROWID;

  INSERT INTO boundary_rollup_hourly
    SELECT l.captured_at - ((l.captured_at % 3600000) + 3600000) % 3600000, s.workspace_id, s.workspace_name, s.owner_name,
           s.confined_process_name, l.http_host, l.allowed, count(*)
    FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref
    GROUP BY 1, 2, 3, 4, 5, 6, 7;

  CREATE TRIGGER boundary_rollup_hourly_insert AFTER INSERT ON boundary_logs BEGIN
    INSERT INTO boundary_rollup_hourly
      SELECT NEW.captured_at - ((NEW.captured_at % 3600000) + 3600000) % 3600000, s.workspace_id, s.workspace_name, s.owner_name,
             s.confined_process_name, NEW.http_host, NEW.allowed, 1
      FROM boundary_sessions s WHERE s.id = NEW.session_ref
      ON CONFLICT DO UPDATE SET records = records + 1;
  END;

  CREATE TRIGGER boundary_rollup_hourly_delete AFTER DELETE ON boundary_logs BEGIN
    UPDATE boundary_rollup_hourly SET records = records - 1
      WHERE hour = OLD.captured_at - ((OLD.captured_at % 3600000) + 3600000) % 3600000
        AND (workspace_id, workspace_name, owner_name, confined_process_name) =
            (SELECT workspace_id, workspace_name, owner_name, confined_process_name FROM boundary_sessions WHERE id = OLD.session_ref)
        AND http_host = OLD.http_host AND allowed = OLD.allowed;
    DELETE FROM boundary_rollup_hourly
      WHERE hour = OLD.captured_at - ((OLD.captured_at % 3600000) + 3600000) % 3600000
        AND (workspace_id, workspace_name, owner_name, confined_process_name) =
            (SELECT workspace_id, workspace_name, owner_name, confined_process_name FROM boundary_sessions WHERE id = OLD.session_ref)
        AND http_host = OLD.http_host AND allowed = OLD.allowed AND records <= 0;
  END;
  `,
  // 6 (exec lines): consumer cursors over process_logs, apart from those over
  // boundary_logs (another id space). The stderr cursor starts after the
  // exec records already stored: code before this migration printed their
  // lines at ingest.
  `
  CREATE TABLE process_consumer_cursors (
    consumer TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO process_consumer_cursors (consumer, last_id) SELECT 'stderr', COALESCE(MAX(id), 0) FROM process_logs;
  `,
  // 7 (rollup counted per batch): the store's writer (sqlite-insert.ts)
  // adds each batch's records to the hourly rollup, one row per host and
  // decision, in the batch's own savepoint; the per-record insert trigger
  // cost about a third of an insert. Ingest is the only way records are
  // stored. Deletes (retention, by hand) still go through the delete trigger.
  `
  DROP TRIGGER boundary_rollup_hourly_insert;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version that adds the hourly rollup (benches and tests roll back to the one before). */
export const ROLLUP_VERSION = MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE boundary_rollup_hourly")) + 1;

/** Applies the migrations the database lacks; refuses a database newer than this code. */
export function migrate(db: SqliteDatabase): number {
  const current = db.prepare("PRAGMA user_version").get<{ user_version: number }>()?.user_version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new StoreError("schema_newer", `database schema version ${current} is newer than this boundary-relay (${SCHEMA_VERSION}); upgrade boundary-relay`);
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version - 1]!);
      db.exec(`PRAGMA user_version = ${version}`);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  }
  return SCHEMA_VERSION;
}
