// The SQLite floor of coderd's ingest: how fast this machine can put the
// bench's records into `boundary_logs` at all, so that coderd's rate can be
// read against what no writer of this schema could beat. On the migrated
// schema (SqliteStore.open), synchronous=FULL as coderd runs it, it times:
//
// - "coderd's writer": BatchWriter.commit (sqlite-insert.ts), what the
//   writer thread runs: session upsert, INSERT … RETURNING, the rollup;
// - "bare INSERT": the same rows as plain 50-row INSERT statements, nothing
//   else in the transaction, with the table's indexes as shipped, then with
//   the (http_host, captured_at) index dropped, with only the de-duplication
//   index, and with no secondary index at all.
//
// One transaction per 1,000 rows (a group commit of 88-record requests
// holds about that many), records of one session per transaction. Variants
// alternate run by run, so a busy machine slows all of them alike. The bare
// rows are an upper bound for ingest on one SQLite writer: coderd's main
// thread, the agent and the load share the other core.
//
//   bun bench/sqlite-floor.ts [--records 200000] [--repeats 3]   (npm run bench:sqlite-floor)
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { BatchWriter } from "../src/coderd/store/sqlite-insert.ts";
import type { NewRecord } from "../src/coderd/store/store.ts";
import type { SqliteDatabase, SqliteStatement } from "../src/runtime/adapter.ts";
import { identityOf } from "./lib/console-data.ts";
import { recordsOf, withFreshDatabase } from "./lib/sqlite-bench.ts";
import { median } from "./lib/stats.ts";

const { values } = parseArgs({ options: { records: { type: "string", default: "200000" }, repeats: { type: "string", default: "3" } } });
const RECORDS = Number(values.records);
const REPEATS = Number(values.repeats);
const PER_TRANSACTION = 1000;
const ROWS_PER_INSERT = 50;
const SECONDARY = ["boundary_logs_host_captured", "boundary_logs_captured_cover", "boundary_logs_captured", "boundary_logs_session_seq", "boundary_logs_dedup"];

interface Variant {
  name: string;
  /** Indexes of boundary_logs dropped before the run. */
  drop: string[];
  /** Rows through BatchWriter (true) or bare INSERTs. */
  writer: boolean;
}
const VARIANTS: Variant[] = [
  { name: "coderd's writer, indexes as shipped", drop: [], writer: true },
  { name: "bare INSERT, indexes as shipped", drop: [], writer: false },
  { name: "bare INSERT, without (http_host, captured_at)", drop: ["boundary_logs_host_captured"], writer: false },
  { name: "bare INSERT, de-duplication index only", drop: SECONDARY.filter((ix) => ix !== "boundary_logs_dedup"), writer: false },
  { name: "bare INSERT, no secondary index", drop: SECONDARY, writer: false },
];

/** The bare INSERT of ROWS_PER_INSERT rows of session 1 (prepared once per run, outside the timing). */
function prepareBareInsert(db: SqliteDatabase): SqliteStatement {
  const row = "(1, 1, ?, ?, ?, ?, ?, ?, ?, ?)";
  return db.prepare(
    `INSERT INTO boundary_logs (session_ref, dedup, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at)
     VALUES ${Array(ROWS_PER_INSERT).fill(row).join(", ")} ON CONFLICT DO NOTHING`,
  );
}

/** One transaction of bare multi-row INSERTs of `records`. */
function bareInsert(db: SqliteDatabase, insert: SqliteStatement, records: NewRecord[], capturedAt: number): void {
  db.exec("BEGIN");
  for (let from = 0; from < records.length; from += ROWS_PER_INSERT) {
    const params: unknown[] = [];
    for (const r of records.slice(from, from + ROWS_PER_INSERT)) {
      params.push(r.sequenceNumber, r.allowed ? 1 : 0, r.httpMethod, r.httpUrl, r.httpHost, r.matchedRule, r.eventTime, capturedAt);
    }
    insert.run(...params);
  }
  db.exec("COMMIT");
}

/** Rows per second writing RECORDS records into a fresh, migrated database. */
function run(variant: Variant): Promise<number> {
  return withFreshDatabase("FULL", (db) => {
    for (const ix of variant.drop) db.exec(`DROP INDEX ${ix}`);
    const writer = variant.writer ? new BatchWriter(db, "FULL") : null;
    const identity = identityOf(0);
    const insert = writer ? null : prepareBareInsert(db);
    // The bare rows need a session to point at; the writer makes its own.
    if (!writer) db.exec("INSERT INTO boundary_sessions (id, session_id, keyed, agent_id, agent_name, workspace_id, workspace_name, owner_id, owner_name, template_id, template_version_id, confined_process_name, started_at, updated_at) VALUES (1, 's', 1, 'a', 'a', 'w', 'w', 'o', 'o', 't', 'v', 'c', 0, 0)");
    const transactions = Math.ceil(RECORDS / PER_TRANSACTION);
    const batches = Array.from({ length: transactions }, (_, t) => recordsOf(PER_TRANSACTION, t * PER_TRANSACTION));
    const rows = batches.reduce((n, b) => n + b.length, 0);
    const start = performance.now();
    for (const records of batches) {
      const capturedAt = new Date();
      if (writer) writer.commit([{ identity, sessionId: randomUUID(), deduplicate: true, confinedProcessName: "claude", capturedAt, records }]);
      else bareInsert(db, insert!, records, capturedAt.getTime());
    }
    const perSecond = rows / ((performance.now() - start) / 1000);
    writer?.close();
    return perSecond;
  });
}

const samples = new Map<string, number[]>();
for (let r = 0; r < REPEATS; r++) {
  for (const v of VARIANTS) samples.set(v.name, [...(samples.get(v.name) ?? []), await run(v)]);
}
console.log(`SQLite rows/s into boundary_logs (median of ${REPEATS}; ${RECORDS} records per run, ${PER_TRANSACTION} per transaction, synchronous=FULL)`);
console.log("| what | rows/s | µs per row |");
console.log("|---|---|---|");
for (const v of VARIANTS) {
  const perSecond = median(samples.get(v.name)!);
  console.log(`| ${v.name} | ${Math.round(perSecond).toLocaleString("en")} | ${(1e6 / perSecond).toFixed(2)} |`);
}
