// Socket ingest: records/s the agent accepts (--output discard) from 1, 10
// and 100 concurrent boundary sessions writing pre-encoded v2 frames as fast
// as they can (bench/writer.ts, its own process), counted from the agent's
// records_received_total; with the agent's CPU over the run (% of one core,
// from /proc/<pid>/stat) and its peak RSS.
import { cpuSeconds, memory, waitForCount, watchMemory } from "./lib/proc.ts";
import { counter, RECEIVED, startAgent, startWriter } from "./lib/stack.ts";
import { type Figure, repeatMany } from "./lib/stats.ts";

export const SESSION_COUNTS = [1, 10, 100];

export async function socketIngestBench(repeats: number, scale: number): Promise<Figure[]> {
  const records = Math.round(1_000_000 * scale);
  const agent = await startAgent(["--output", "discard", "--spool-dir", ""]);
  const figures: Figure[] = [];
  try {
    figures.push({ ...summarizeOne("memory.agent_idle_rss", memory(agent.proc.pid).rssMiB), params: { output: "discard" } });
    for (const sessions of SESSION_COUNTS) {
      const p = `ingest.sessions_${sessions}`;
      figures.push(
        ...(await repeatMany(
          repeats,
          { [p]: { unit: "records/s", better: "higher" }, [`${p}.agent_cpu`]: { unit: "% core", better: "lower" }, [`${p}.agent_peak_rss`]: { unit: "MiB", better: "lower" } },
          async () => {
            const writer = await startWriter(agent.socket, ["--sessions", String(sessions), "--records", String(records)]);
            const received = counter(agent.port, RECEIVED);
            const base = await received();
            const mem = watchMemory(agent.proc.pid);
            const cpu0 = cpuSeconds(agent.proc.pid);
            const t0 = performance.now();
            const wrote = writer.go();
            const t1 = await waitForCount(received, base + writer.records, 120_000, `${p}: records received`);
            const seconds = (t1 - t0) / 1000;
            const cpu = ((cpuSeconds(agent.proc.pid) - cpu0) / seconds) * 100;
            mem.stop();
            await wrote;
            return { [p]: writer.records / seconds, [`${p}.agent_cpu`]: cpu, [`${p}.agent_peak_rss`]: mem.peakMiB() };
          },
          { sessions, records, frame_records: 10, writer: "bench/writer.ts (pre-encoded frames)", output: "discard" },
        )),
      );
    }
  } finally {
    await agent.close();
  }
  return figures;
}

function summarizeOne(name: string, value: number): Figure {
  return { name, unit: "MiB", better: "lower", median: value, min: value, max: value, runs: [value] };
}
