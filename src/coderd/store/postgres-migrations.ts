// PostgreSQL schema, versioned in code, as migrations.ts is for SQLite.
// Several replicas may start at once: migrate() takes a transaction-level
// advisory lock first, so one replica migrates and the others wait, then
// find the work done. Every migration of a start runs in that one
// transaction (PostgreSQL DDL is transactional): a crash halfway leaves the
// previous version intact. A database newer than this binary is refused
// (StoreError "schema_newer"). Never edit a shipped migration: add the next.
//
// Tables as in Coder's schema: boundary_sessions (one row per session and
// workspace, carrying the agent identity) and boundary_logs (one row per
// record, pointing at its session). Times are milliseconds since the epoch
// (bigint), as in the SQLite store, so both stores page and bucket alike.
// De-duplication is the unique index on (session_ref, sequence_number,
// copy): copy is 0 for a record of a keyed session (so a second copy
// conflicts) and a number of its own otherwise (so it never does); the same
// index serves a session's reads by sequence number. consumer_batches holds,
// per consumer, the records it has not taken yet, one row per stored batch
// (the ids one insert stored, ascending): filled in the insert's own
// statement, so a committed record always has its entry; replicas claim
// entries with FOR UPDATE SKIP LOCKED and a lease (postgres.ts).
// Migration 2 replaced the first version's one-row-per-record
// consumer_queue and its two indexes on (session_ref, sequence_number):
// writing a record cost twelve WAL entries, now it costs seven. It also
// dropped boundary_logs' foreign key to its session, whose per-row check
// took a quarter of an insert's time: records are inserted in the statement
// that upserts their session, and the retention purge deletes a session
// only if it is still idle when it holds the row (postgres.ts).
// Migration 3 adds the exec records (process_logs, the columns of SQLite's,
// argv as a JSON array in text) with their own consumers and queue.
import type { Sql } from "postgres";
import { StoreError } from "./errors.ts";

export const PG_MIGRATIONS: string[] = [
  `
  CREATE TABLE boundary_sessions (
    id bigserial PRIMARY KEY,
    session_id text NOT NULL,
    keyed boolean NOT NULL,
    agent_id text NOT NULL,
    agent_name text NOT NULL,
    workspace_id text NOT NULL,
    workspace_name text NOT NULL,
    owner_id text NOT NULL,
    owner_name text NOT NULL,
    template_id text NOT NULL,
    template_version_id text NOT NULL,
    confined_process_name text NOT NULL,
    started_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE UNIQUE INDEX boundary_sessions_key ON boundary_sessions (session_id, workspace_id);
  CREATE INDEX boundary_sessions_started ON boundary_sessions (started_at, id);
  CREATE INDEX boundary_sessions_workspace ON boundary_sessions (workspace_id, started_at, id);
  CREATE INDEX boundary_sessions_updated ON boundary_sessions (updated_at);
  CREATE INDEX boundary_sessions_agent ON boundary_sessions (agent_id, workspace_id, updated_at);

  CREATE TABLE boundary_logs (
    id bigserial PRIMARY KEY,
    session_ref bigint NOT NULL REFERENCES boundary_sessions (id),
    dedup boolean NOT NULL,
    sequence_number integer NOT NULL,
    allowed smallint NOT NULL,
    http_method text NOT NULL,
    http_url text NOT NULL,
    http_host text NOT NULL,
    matched_rule text NOT NULL,
    event_time text NOT NULL,
    captured_at bigint NOT NULL
  );
  CREATE UNIQUE INDEX boundary_logs_dedup ON boundary_logs (session_ref, sequence_number) WHERE dedup;
  CREATE INDEX boundary_logs_session_seq ON boundary_logs (session_ref, sequence_number);
  CREATE INDEX boundary_logs_captured ON boundary_logs (captured_at, id);
  CREATE INDEX boundary_logs_host_captured ON boundary_logs (http_host, captured_at);

  CREATE TABLE consumers (consumer text PRIMARY KEY);
  INSERT INTO consumers (consumer) VALUES ('stderr');
  CREATE TABLE consumer_queue (
    consumer text NOT NULL REFERENCES consumers (consumer),
    log_id bigint NOT NULL,
    claimed_by text,
    claimed_until timestamptz,
    -- log_id first: claims walk it in id order, and the purge looks records up by it (one index, not two).
    PRIMARY KEY (log_id, consumer)
  );
  `,
  `
  CREATE TABLE consumer_batches (
    id bigserial PRIMARY KEY,
    consumer text NOT NULL REFERENCES consumers (consumer),
    log_ids bigint[] NOT NULL CHECK (cardinality(log_ids) > 0),
    claimed_by text,
    claimed_until timestamptz
  );
  CREATE INDEX consumer_batches_oldest ON consumer_batches (consumer, (log_ids[1]));
  INSERT INTO consumer_batches (consumer, log_ids)
    SELECT consumer, array_agg(log_id ORDER BY log_id) FROM consumer_queue
    GROUP BY consumer, log_id / 1000 ORDER BY consumer, log_id / 1000;
  DROP TABLE consumer_queue;

  CREATE SEQUENCE boundary_logs_copy;
  ALTER TABLE boundary_logs ADD COLUMN copy bigint NOT NULL DEFAULT 0;
  UPDATE boundary_logs SET copy = nextval('boundary_logs_copy') WHERE NOT dedup;
  CREATE UNIQUE INDEX boundary_logs_session_seq_copy ON boundary_logs (session_ref, sequence_number, copy);
  DROP INDEX boundary_logs_dedup;
  DROP INDEX boundary_logs_session_seq;

  ALTER TABLE boundary_logs DROP CONSTRAINT boundary_logs_session_ref_fkey;
  `,
  `
  CREATE TABLE process_logs (
    id bigserial PRIMARY KEY,
    agent_id text NOT NULL,
    workspace_id text NOT NULL,
    workspace_name text NOT NULL,
    owner_id text NOT NULL,
    owner_name text NOT NULL,
    template_id text NOT NULL,
    template_version_id text NOT NULL,
    boot_id text NOT NULL,
    pid bigint NOT NULL,
    monotonic_ns bigint NOT NULL,
    event_time text NOT NULL,
    event_time_ms bigint NOT NULL,
    ppid bigint NOT NULL,
    uid bigint NOT NULL,
    gid bigint NOT NULL,
    filename text NOT NULL,
    argv text NOT NULL,
    comm text NOT NULL,
    command text NOT NULL,
    truncated boolean NOT NULL,
    cmdline text NOT NULL,
    captured_at bigint NOT NULL
  );
  CREATE UNIQUE INDEX process_logs_dedup ON process_logs (workspace_id, boot_id, pid, monotonic_ns);
  CREATE INDEX process_logs_time ON process_logs (event_time_ms, id);
  CREATE INDEX process_logs_workspace ON process_logs (workspace_id, event_time_ms, id);
  CREATE INDEX process_logs_owner ON process_logs (owner_name, event_time_ms, id);
  CREATE INDEX process_logs_captured ON process_logs (captured_at);

  CREATE TABLE process_consumers (consumer text PRIMARY KEY);
  INSERT INTO process_consumers (consumer) VALUES ('stderr');
  CREATE TABLE process_consumer_batches (
    id bigserial PRIMARY KEY,
    consumer text NOT NULL REFERENCES process_consumers (consumer),
    log_ids bigint[] NOT NULL CHECK (cardinality(log_ids) > 0),
    claimed_by text,
    claimed_until timestamptz
  );
  CREATE INDEX process_consumer_batches_oldest ON process_consumer_batches (consumer, (log_ids[1]));
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The advisory lock key of migrations ("brmigrat" as 64 bits, any fixed number would do). */
const MIGRATION_LOCK = 0x62726d6967726174n;

/** Brings the database to PG_SCHEMA_VERSION under an advisory lock; refuses a newer one. */
export async function migratePostgres(sql: Sql): Promise<number> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS boundary_relay_schema (version integer NOT NULL)`;
    const rows = await tx<{ version: number }[]>`SELECT version FROM boundary_relay_schema`;
    const current = rows[0]?.version ?? 0;
    if (current > PG_SCHEMA_VERSION) {
      throw new StoreError(
        "schema_newer",
        `database schema version ${current} is newer than this boundary-relay (${PG_SCHEMA_VERSION}); upgrade boundary-relay`,
      );
    }
    for (let version = current + 1; version <= PG_SCHEMA_VERSION; version++) {
      await tx.unsafe(PG_MIGRATIONS[version - 1]!);
    }
    if (rows.length === 0) await tx`INSERT INTO boundary_relay_schema (version) VALUES (${PG_SCHEMA_VERSION})`;
    else await tx`UPDATE boundary_relay_schema SET version = ${PG_SCHEMA_VERSION}`;
  });
  return PG_SCHEMA_VERSION;
}
