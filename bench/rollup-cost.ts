// What the hourly rollup's triggers cost at insert: rows/s
// of SqliteStore.insertBatch (1000-record batches, new session each, WAL),
// in one process, on one database, with the triggers and with them dropped,
// alternating run by run so a busy machine slows both alike. synchronous
// NORMAL, so the figure is SQLite's CPU work rather than the disk's fsync.
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
/** Migration 5's CREATE TRIGGER statements, to put back after a run without them. */
const ROLLUP_MIGRATION = MIGRATIONS[ROLLUP_VERSION - 1]!;
const TRIGGERS = ROLLUP_MIGRATION.slice(ROLLUP_MIGRATION.indexOf("CREATE TRIGGER"));

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

const runs: Record<"with" | "without", number[]> = { with: [], without: [] };
try {
  await rate(); // warm-up: the first pages of every index
  for (let r = 0; r < REPEATS; r++) {
    runs.with.push(await rate());
    admin.exec("DROP TRIGGER boundary_rollup_hourly_insert; DROP TRIGGER boundary_rollup_hourly_delete");
    runs.without.push(await rate());
    admin.exec(TRIGGERS);
  }
} finally {
  admin.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
const [w, wo] = [median(runs.with), median(runs.without)];
console.log(`insertBatch, ${BATCHES} × 1000 records per run, ${REPEATS} runs each (rows/s):`);
console.log(`  without rollup triggers: median ${Math.round(wo)} (${runs.without.map(Math.round).join(", ")})`);
console.log(`  with rollup triggers:    median ${Math.round(w)} (${runs.with.map(Math.round).join(", ")})`);
// Each "with" run against the "without" run right after it: drift on a busy machine cancels out pair by pair.
const pairRatio = median(runs.with.map((x, i) => x / runs.without[i]!));
console.log(`  cost: ${((1 - w / wo) * 100).toFixed(1)}% fewer rows/s with the triggers (medians); ${((1 - pairRatio) * 100).toFixed(1)}% by the median of run pairs`);
