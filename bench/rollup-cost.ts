// What keeping the hourly rollup costs at insert, then and now: rows/s of
// SqliteStore.insertBatch (1000-record batches, new session each, WAL), in
// one process, on one database, as shipped (the writer adds each batch's
// counts, one row per host and decision: migration 7) and with migration
// 5's per-record insert trigger put back on top (the previous releases'
// way; the counts then double, which nothing here reads), alternating run
// by run so a busy machine slows both alike. synchronous NORMAL, so the
// figure is SQLite's CPU work rather than the disk's fsync.
//
//   bun bench/rollup-cost.ts [--batches 300] [--repeats 5]
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MIGRATIONS, ROLLUP_VERSION } from "../src/coderd/store/migrations.ts";
import { SqliteStore } from "../src/coderd/store/sqlite.ts";
import type { NewRecord } from "../src/coderd/store/store.ts";
import { openSqlite } from "../src/runtime/adapter.ts";
import { identityOf } from "./lib/console-data.ts";
import { median } from "./lib/stats.ts";

const { values } = parseArgs({ options: { batches: { type: "string", default: "300" }, repeats: { type: "string", default: "5" } } });
const BATCHES = Number(values.batches);
const REPEATS = Number(values.repeats);
const HOSTS = ["github.com", "api.github.com", "registry.npmjs.org", "pypi.org", "pastebin.com", "transfer.sh"];
/** Migration 5's per-record insert trigger, which migration 7 dropped. */
const ROLLUP_MIGRATION = MIGRATIONS[ROLLUP_VERSION - 1]!;
const INSERT_TRIGGER = ROLLUP_MIGRATION.slice(
  ROLLUP_MIGRATION.indexOf("CREATE TRIGGER boundary_rollup_hourly_insert"),
  ROLLUP_MIGRATION.indexOf("CREATE TRIGGER boundary_rollup_hourly_delete"),
);

const records: NewRecord[] = Array.from({ length: 1000 }, (_, i) => ({
  sequenceNumber: i, allowed: i % 12 !== 0, httpMethod: "GET", httpUrl: `https://${HOSTS[i % HOSTS.length]}/p/${i}`,
  httpHost: HOSTS[i % HOSTS.length]!, matchedRule: "", eventTime: new Date().toISOString(),
}));

const dir = mkdtempSync(join(tmpdir(), "bench-rollup-cost-"));
const path = join(dir, "coderd.db");
const store = await SqliteStore.open(path, { synchronous: "NORMAL", queryThread: false });
const admin = await openSqlite(path);

async function rate(): Promise<number> {
  const t0 = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    await store.insertBatch({ identity: identityOf(b % 6), sessionId: randomUUID(), deduplicate: true, confinedProcessName: "claude", capturedAt: new Date(), records });
  }
  return (BATCHES * records.length) / ((performance.now() - t0) / 1000);
}

const runs: Record<"trigger" | "batch", number[]> = { trigger: [], batch: [] };
try {
  await rate(); // warm-up: the first pages of every index
  for (let r = 0; r < REPEATS; r++) {
    admin.exec(INSERT_TRIGGER);
    runs.trigger.push(await rate());
    admin.exec("DROP TRIGGER boundary_rollup_hourly_insert");
    runs.batch.push(await rate());
  }
} finally {
  admin.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
const [t, b] = [median(runs.trigger), median(runs.batch)];
console.log(`insertBatch, ${BATCHES} × 1000 records per run, ${REPEATS} runs each (rows/s):`);
console.log(`  rollup counted per batch (as shipped):      median ${Math.round(b)} (${runs.batch.map(Math.round).join(", ")})`);
console.log(`  plus the per-record trigger (before it):    median ${Math.round(t)} (${runs.trigger.map(Math.round).join(", ")})`);
// Each trigger run against the run right after it: drift on a busy machine cancels out pair by pair.
const pairRatio = median(runs.batch.map((x, i) => x / runs.trigger[i]!));
console.log(`  per batch: ${b >= t ? "+" : ""}${((b / t - 1) * 100).toFixed(1)}% rows/s (medians); ${((pairRatio - 1) * 100).toFixed(1)}% by the median of run pairs`);
