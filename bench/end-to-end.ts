// End to end: boundary's socket → agent (spool on, default fsync policy) →
// coderd (SQLite, text lines to a file) with every part the compiled binary.
//  - throughput at saturation: the writer (bench/writer.ts, its own process)
//    sends N unique pre-encoded records as fast as the agent takes them;
//    the rate is N over the time from the first write until coderd's
//    records_ingested_total has all N (so every record is committed).
//    N is 90,000 (fits the agent's queue; see saturation()).
//    Run with 1, 100 and 1000 sessions (scaling); the agent's peak RSS under
//    load, and the records per request it sent, come from the same runs.
//  - latency at a steady 10,000 records/s: the writer stamps each record's
//    time with the moment it writes the frame; coderd writes a record's line
//    right after its batch commits, so the bench reads coderd's stderr
//    through a pipe and takes (arrival of the line − event_time) per record.
//    The first second (warm-up) is left out.
import { join } from "node:path";
import { cpuSeconds, waitForCount, watchMemory } from "./lib/proc.ts";
import { coderdOutputArgs, counter, FORWARDED, INGESTED, REQUESTS_FORWARDED, startAgent, startCoderd, startWriter } from "./lib/stack.ts";
import { type Figure, percentile, repeatMany, summarize } from "./lib/stats.ts";

export const E2E_SESSIONS = [1, 100, 1000];
const LATENCY_RATE = 10_000;
const WARMUP_MS = 1000;
const BURST_RECORDS = 90_000;

export async function endToEndBench(repeats: number, scale: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const sessions of E2E_SESSIONS) figures.push(...(await saturation(repeats, scale, sessions)));
  figures.push(...(await latency(repeats, scale)));
  return figures;
}

async function saturation(repeats: number, scale: number, sessions: number): Promise<Figure[]> {
  // A burst the agent's queue (--queue-max-records 100,000) can hold, so the
  // agent never pauses reading the socket (a longer burst is held back by
  // backpressure: bench/burst.ts). The pipeline is full throughout.
  const records = BURST_RECORDS;
  const p = `e2e.sessions_${sessions}`;
  const coderd = await startCoderd(join(process.env.TMPDIR ?? "/tmp", `bench-coderd-${process.pid}.log`));
  const agent = await startAgent(coderdOutputArgs(coderd.url));
  try {
    return await repeatMany(
      repeats,
      {
        [p]: { unit: "records/s", better: "higher" },
        [`${p}.agent_cpu`]: { unit: "% core", better: "lower" },
        [`${p}.coderd_cpu`]: { unit: "% core", better: "lower" },
        [`${p}.agent_peak_rss`]: { unit: "MiB", better: "lower" },
        [`${p}.records_per_request`]: { unit: "records", better: "higher" },
      },
      async () => {
        const writer = await startWriter(agent.socket, ["--sessions", String(sessions), "--records", String(records), "--unique"]);
        const ingested = counter(coderd.port, INGESTED);
        const forwarded = { records: counter(agent.port, FORWARDED), requests: counter(agent.port, REQUESTS_FORWARDED) };
        const base = await ingested();
        const forwarded0 = { records: await forwarded.records(), requests: await forwarded.requests() };
        const mem = watchMemory(agent.proc.pid);
        const agentCpu0 = cpuSeconds(agent.proc.pid);
        const coderdCpu0 = cpuSeconds(coderd.proc.pid);
        const t0 = performance.now();
        const wrote = writer.go();
        const t1 = await waitForCount(ingested, base + writer.records, 300_000, `${p}: records committed by coderd`);
        const seconds = (t1 - t0) / 1000;
        const requests = (await forwarded.requests()) - forwarded0.requests;
        const sample = {
          [p]: writer.records / seconds,
          [`${p}.agent_cpu`]: ((cpuSeconds(agent.proc.pid) - agentCpu0) / seconds) * 100,
          [`${p}.coderd_cpu`]: ((cpuSeconds(coderd.proc.pid) - coderdCpu0) / seconds) * 100,
          [`${p}.agent_peak_rss`]: mem.peakMiB(),
          [`${p}.records_per_request`]: ((await forwarded.records()) - forwarded0.records) / Math.max(1, requests),
        };
        mem.stop();
        await wrote;
        return sample;
      },
      { sessions, records, spool_fsync: "interval (default, 5ms)", coderd_stderr: "file", store: "sqlite (WAL, synchronous=NORMAL)" },
    );
  } finally {
    await agent.close();
    await coderd.close();
  }
}

/** RFC 3339 with up to 9 fraction digits → ms since the epoch (fractional). */
function parseEventTime(text: string): number {
  const dot = text.indexOf(".");
  if (dot < 0) return Date.parse(text);
  return Date.parse(`${text.slice(0, dot)}Z`) + Number(`0.${text.slice(dot + 1, -1)}`) * 1000;
}

async function latency(repeats: number, scale: number): Promise<Figure[]> {
  const seconds = Math.max(3, Math.round(10 * scale));
  const runs: Record<string, number[]> = { p50: [], p99: [], max: [] };
  const coderd = await startCoderd("pipe");
  const agent = await startAgent(coderdOutputArgs(coderd.url));
  let samples: number[] = [];
  let startedAt = Infinity;
  let buf = "";
  coderd.proc.child.stderr!.on("data", (chunk: Buffer) => {
    const now = performance.timeOrigin + performance.now();
    buf += chunk.toString();
    let from = 0;
    for (let nl = buf.indexOf("\n"); nl >= 0; from = nl + 1, nl = buf.indexOf("\n", from)) {
      const at = buf.indexOf("event_time=", from);
      if (at < 0 || at > nl) continue;
      const sent = parseEventTime(buf.slice(at + 11, nl));
      if (sent >= startedAt + WARMUP_MS) samples.push(now - sent);
    }
    buf = buf.slice(from);
  });
  try {
    for (let i = 0; i < repeats; i++) {
      samples = [];
      const writer = await startWriter(agent.socket, ["--sessions", "10", "--records", String(LATENCY_RATE * seconds), "--rate", String(LATENCY_RATE), "--stamp"]);
      const ingested = counter(coderd.port, INGESTED);
      const base = await ingested();
      startedAt = performance.timeOrigin + performance.now();
      await writer.go();
      await waitForCount(ingested, base + writer.records, 60_000, "latency: records committed");
      const sorted = samples.sort((a, b) => a - b);
      runs.p50!.push(percentile(sorted, 50));
      runs.p99!.push(percentile(sorted, 99));
      runs.max!.push(sorted[sorted.length - 1]!);
    }
  } finally {
    await agent.close();
    await coderd.close();
  }
  const params = { rate: LATENCY_RATE, seconds, sessions: 10, warmup_ms: WARMUP_MS, method: "coderd stderr line arrival − event_time stamped at socket write" };
  return (["p50", "p99", "max"] as const).map((q) => summarize(`e2e.latency_${q}`, "ms", "lower", runs[q]!, params));
}
