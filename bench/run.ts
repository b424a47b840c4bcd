// `npm run bench`: runs every benchmark against the compiled binary, prints
// the table, writes bench/results.json and exits non-zero when a figure is
// worse than bench/thresholds.json allows.
//   --quick       fewer repeats and smaller loads (for CI smoke)
//   --only NAME   run one group: micro, ingest, socket-vs-go, coderd, e2e, backlog, burst, queries
// Every group but micro runs the compiled binary (dist/boundary-relay, or
// $BENCH_BINARY): `npm run build` first.
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { burstBench } from "./burst.ts";
import { coderdIngestBench } from "./coderd-ingest.ts";
import { postgresIngestBench } from "./postgres-ingest.ts";
import { endToEndBench } from "./end-to-end.ts";
import { BINARY } from "./lib/proc.ts";
import { microBench } from "./micro.ts";
import { queriesBench } from "./queries.ts";
import { socketIngestBench } from "./socket-ingest.ts";
import { socketVsGoBench } from "./socket-vs-go.ts";
import { spoolBacklogBench } from "./spool-backlog.ts";
import { checkThresholds, machine, table, writeResults } from "./lib/report.ts";
import type { Figure } from "./lib/stats.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const repeats = quick ? 2 : 3;
const scale = quick ? 0.25 : 1;

const groups: Record<string, () => Promise<Figure[]>> = {
  micro: () => microBench(repeats, scale),
  ingest: () => socketIngestBench(repeats, scale),
  "socket-vs-go": () => socketVsGoBench(repeats, scale),
  coderd: () => coderdIngestBench(repeats, scale),
  postgres: () => postgresIngestBench(repeats, scale),
  e2e: () => endToEndBench(repeats, scale),
  backlog: () => spoolBacklogBench(repeats, scale),
  burst: () => burstBench(1, scale), // one run: each is a million records through coderd (minutes)
  // 1M stored records here (seeded by SQL in ~10 s); 10M: `npm run bench:rollups`.
  queries: () => queriesBench({ records: Math.round(1_000_000 * scale), runs: quick ? 5 : 20, repeats, batches: Math.round(100 * scale) }),
};

if (only && !(only in groups)) throw new Error(`--only ${only}: no such group (${Object.keys(groups).join(", ")})`);
if (only !== "micro" && !existsSync(BINARY)) throw new Error(`${BINARY} not found: run \`npm run build\` first`);

const figures: Figure[] = [];
const loadAtStart = loadavg();
console.log(`boundary-relay bench on ${JSON.stringify(machine())}; repeats=${repeats} scale=${scale}`);
for (const [name, run] of Object.entries(groups)) {
  if (only && only !== name) continue;
  console.log(`… ${name}`);
  figures.push(...(await run()));
}
console.log(`\n${table(figures)}\n`);
const shown = new Set<string>();
for (const f of figures) {
  const params = JSON.stringify(f.params ?? {});
  if (params !== "{}" && !shown.has(params)) console.log(`  ${f.name.split(".").slice(0, 2).join(".")}…: ${(shown.add(params), params)}`);
}
// The load the runs shared the machine with (scripts/gen-bench-table.ts prints it).
const path = writeResults(import.meta.dir, figures, { quick, repeats, scale, load_average: { start: loadAtStart, end: loadavg() } });
console.log(`wrote ${path}`);
const checks = checkThresholds(figures, join(import.meta.dir, "thresholds.json"));
const failed = checks.filter((c) => !c.ok);
for (const c of failed) console.error(`REGRESSION ${c.name}: ${c.median.toFixed(1)} vs threshold ${c.threshold}`);
console.log(`thresholds: ${checks.length - failed.length} met, ${failed.length} missed`);
process.exitCode = failed.length > 0 ? 1 : 0;
