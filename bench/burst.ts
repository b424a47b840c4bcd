// Burst absorbed, not dropped (issue 9's done-when): 1,000,000 unique
// records written unpaced from 4 connections (bench/writer.ts, its own
// process, pre-encoded frames) into an agent with --output coderd and its
// default queue, then forwarded to coderd (SQLite). Figures: the time from
// the first write until coderd has committed all of them, as records/s, and
// the agent's peak RSS. The run fails (throws) unless the agent dropped
// nothing (buffer_full, spool_full, forward_failed all 0) and coderd stored
// every record exactly once.
//
//   bun bench/burst.ts [--records N]      standalone (npm run bench:burst), prints the time
//   bun bench/run.ts --only burst         as one group of `npm run bench`
import { join } from "node:path";
import { metric, waitForCount, watchMemory } from "./lib/proc.ts";
import { coderdOutputArgs, counter, INGESTED, startAgent, startCoderd, startWriter } from "./lib/stack.ts";
import { type Figure, repeatMany } from "./lib/stats.ts";

const SESSIONS = 4;
const DROPS = ["buffer_full", "spool_full", "forward_failed"];

export async function burstBench(repeats: number, scale: number): Promise<Figure[]> {
  const records = Math.round(1_000_000 * scale);
  return repeatMany(
    repeats,
    { "burst.coderd_output": { unit: "records/s", better: "higher" }, "burst.agent_peak_rss": { unit: "MiB", better: "lower" } },
    async () => {
      const r = await burstOnce(records);
      return { "burst.coderd_output": r.records / r.seconds, "burst.agent_peak_rss": r.peakRssMiB };
    },
    { records, sessions: SESSIONS, output: "coderd", writer: "bench/writer.ts --unique (unpaced, pre-encoded frames)" },
  );
}

export interface BurstResult {
  records: number;
  seconds: number;
  writerSeconds: number;
  peakRssMiB: number;
}

/** One burst through a fresh coderd and agent; throws when a record was dropped or not stored. */
export async function burstOnce(records: number): Promise<BurstResult> {
  const coderd = await startCoderd("null");
  const agent = await startAgent(coderdOutputArgs(coderd.url));
  try {
    const writer = await startWriter(agent.socket, ["--sessions", String(SESSIONS), "--records", String(records), "--unique"]);
    const mem = watchMemory(agent.proc.pid);
    const t0 = performance.now();
    const wrote = writer.go();
    const t1 = await waitForCount(counter(coderd.port, INGESTED), writer.records, 600_000, "burst: records committed by coderd");
    mem.stop();
    const written = await wrote;
    for (const reason of DROPS) {
      const dropped = await metric(agent.port, `agent_boundary_log_proxy_logs_dropped_total{reason="${reason}"}`);
      if (dropped !== 0) throw new Error(`burst: the agent dropped ${dropped} records as ${reason}`);
    }
    const duplicates = await metric(coderd.port, "coderd_boundary_records_duplicate_total");
    const ingested = await metric(coderd.port, INGESTED);
    if (ingested !== writer.records) throw new Error(`burst: coderd ingested ${ingested} of ${writer.records} (${duplicates} duplicates)`);
    return { records: writer.records, seconds: (t1 - t0) / 1000, writerSeconds: written.elapsedMs / 1000, peakRssMiB: mem.peakMiB() };
  } finally {
    await agent.close();
    await coderd.close();
  }
}

if (import.meta.main) {
  const i = process.argv.indexOf("--records");
  const records = i >= 0 ? Number(process.argv[i + 1]) : 1_000_000;
  const r = await burstOnce(records);
  console.log(
    `burst: ${r.records.toLocaleString("en")} records unpaced from ${SESSIONS} connections, --output coderd: 0 dropped, ` +
      `${r.records.toLocaleString("en")} stored in ${r.seconds.toFixed(1)} s (${Math.round(r.records / r.seconds).toLocaleString("en")} records/s; ` +
      `the writer was done after ${r.writerSeconds.toFixed(1)} s); agent peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
  );
  process.exit(0);
}
