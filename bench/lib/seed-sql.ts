// Millions of stored records in seconds for the query benches: rows written
// by SQL straight into a database at the schema before the rollup (one INSERT … SELECT
// over a counter per million rows, no per-row JavaScript), then opened with
// SqliteStore, which runs the migrations that follow, the hourly rollup's
// back-fill among them, so its cost is measured too. The data
// looks like bench/lib/console-data.ts: six workspaces, sessions of 400
// records, 8% denied to a few hosts, spread evenly over `spanMs` up to `now`.
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import { MIGRATIONS, ROLLUP_VERSION } from "../../src/coderd/store/migrations.ts";
import { openSqlite } from "../../src/runtime/adapter.ts";
import { ALLOWED, DENIED, identityOf, PATHS, WORKSPACES } from "./console-data.ts";

/** Schema version the rows are written at: before the rollup, so opening the store back-fills it. */
const SEED_SCHEMA = ROLLUP_VERSION - 1;
const RECORDS_PER_SESSION = 400;
const ROWS_PER_TRANSACTION = 1_000_000;

export interface SqlSeedOptions {
  records: number;
  spanMs: number;
  now: number;
  onProgress?: (stored: number) => void;
}

export interface SqlSeedTimes {
  insertSeconds: number;
  /** Opening the store: migration 5's back-fill of the rollup from every record. */
  migrateSeconds: number;
}

/** Hosts by percentile of a record's hash: 8 of 100 denied (skewed towards the first), the rest allowed. */
function hostTable(): { k: number; host: string; allowed: number }[] {
  return Array.from({ length: 100 }, (_, k) =>
    k < 8 ? { k, host: DENIED[Math.floor((k * k) / 10) % DENIED.length]!, allowed: 0 } : { k, host: ALLOWED[k % ALLOWED.length]!, allowed: 1 });
}

export async function seedBySql(path: string, o: SqlSeedOptions): Promise<SqlSeedTimes> {
  const t0 = performance.now();
  const db = await openSqlite(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = OFF");
  for (const m of MIGRATIONS.slice(0, SEED_SCHEMA)) db.exec(m);
  db.exec(`PRAGMA user_version = ${SEED_SCHEMA}`);
  db.exec("CREATE TEMP TABLE seed_hosts (k INTEGER PRIMARY KEY, host TEXT NOT NULL, allowed INTEGER NOT NULL)");
  const hosts = db.prepare("INSERT INTO seed_hosts VALUES (?, ?, ?)");
  for (const h of hostTable()) hosts.run(h.k, h.host, h.allowed);
  db.exec("CREATE TEMP TABLE seed_paths (k INTEGER PRIMARY KEY, path TEXT NOT NULL)");
  const paths = db.prepare("INSERT INTO seed_paths VALUES (?, ?)");
  PATHS.forEach((p, k) => paths.run(k, p));

  const sessions = Math.ceil(o.records / RECORDS_PER_SESSION);
  const start = o.now - o.spanMs;
  db.exec("BEGIN");
  const session = db.prepare(
    `INSERT INTO boundary_sessions (id, session_id, keyed, agent_id, agent_name, workspace_id, workspace_name, owner_id, owner_name,
       template_id, template_version_id, confined_process_name, started_at, updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (let s = 0; s < sessions; s++) {
    const w = (s * 7) % WORKSPACES.length;
    const id = identityOf(w);
    const first = start + Math.floor((s * RECORDS_PER_SESSION * o.spanMs) / o.records);
    const last = start + Math.floor((Math.min(o.records, (s + 1) * RECORDS_PER_SESSION) - 1) * o.spanMs / o.records);
    const uuid = `5e55${s.toString(16).padStart(4, "0").slice(-4)}-0000-4000-8000-${s.toString(16).padStart(12, "0")}`;
    session.run(s + 1, uuid, id.agentId, id.agentName, id.workspaceId, id.workspaceName, id.ownerId, id.ownerName, id.templateId,
      id.templateVersionId, WORKSPACES[w]![2], first, last);
  }
  db.exec("COMMIT");
  const logs = db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
     INSERT INTO boundary_logs (session_ref, dedup, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at)
     SELECT i / ${RECORDS_PER_SESSION} + 1, 1, i % ${RECORDS_PER_SESSION}, h.allowed, 'GET', 'https://' || h.host || p.path, h.host,
            CASE WHEN h.allowed THEN 'domain=' || h.host ELSE '' END,
            strftime('%Y-%m-%dT%H:%M:%fZ', (? + i * ? / ?) / 1000.0, 'unixepoch'), ? + i * ? / ?
     FROM n JOIN seed_hosts h ON h.k = ((i * 2654435761) % 4294967296) % 100 JOIN seed_paths p ON p.k = i % ${PATHS.length}`,
  );
  for (let from = 0; from < o.records; from += ROWS_PER_TRANSACTION) {
    const to = Math.min(o.records, from + ROWS_PER_TRANSACTION);
    db.exec("BEGIN");
    logs.run(from, to, start, o.spanMs, o.records, start, o.spanMs, o.records);
    db.exec("COMMIT");
    o.onProgress?.(to);
  }
  // The stderr consumer has taken everything (as a running coderd would have), so no line is owed at start.
  db.exec("UPDATE consumer_cursors SET last_id = (SELECT max(id) FROM boundary_logs) WHERE consumer = 'stderr'");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const t1 = performance.now();
  const store = await SqliteStore.open(path, { synchronous: "NORMAL" });
  await store.close();
  return { insertSeconds: (t1 - t0) / 1000, migrateSeconds: (performance.now() - t1) / 1000 };
}
