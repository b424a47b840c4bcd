// Socket decode against a Go baseline (issue #10): records/s that our agent
// (`agent --output discard`, the compiled binary) and the Go receiver of
// bench/go-baseline (Coder's agent receive loop, google.golang.org/protobuf)
// decode from the SAME pre-encoded v2 frames, written by the Go blaster from
// 4 connections, for 10- and 100-record frames. Per repeat both receivers run
// back to back (alternating which goes first) and our rate is stated as a
// ratio to Go's; the figure is the median of those ratios. Also: both
// receivers' RSS idle (fresh process) and at peak (sampled VmRSS during the
// runs), and the writer's ceiling: the same blast into a receiver that only
// reads bytes, which must be faster than either decoder for the figures to
// mean anything (a warning is printed when it is not). The run fails if the
// Go receiver skipped a frame or closed a connection.
// Needs `go` on PATH; without it this group prints why and gives no figures.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blastInto, CONNECTIONS, type Streams, streamTotals, type Target, writeStreams } from "./lib/blast.ts";
import { buildGoPrograms, type GoPrograms, goVersion, startGoReceiver } from "./lib/go.ts";
import { memory } from "./lib/proc.ts";
import { counter, RECEIVED, startAgent } from "./lib/stack.ts";
import { type Figure, repeatMany, type Sample, summarize } from "./lib/stats.ts";

export const FRAME_SIZES = [10, 100];
/** Issue #10's targets for our rate / Go's, printed next to the ratio (not thresholds: today's agent is below). */
export const RATIO_TARGETS: Record<number, number> = { 10: 1.0, 100: 0.8 };
const RECORDS_PER_RUN = 2_000_000;

export async function socketVsGoBench(repeats: number, scale: number): Promise<Figure[]> {
  const version = goVersion();
  if (!version) {
    console.log("  socket-vs-go: skipped: `go` is not on PATH (install Go ≥ 1.23 to compare with bench/go-baseline)");
    return [];
  }
  const go = buildGoPrograms();
  const dir = mkdtempSync(join(tmpdir(), "bench-vs-go-"));
  try {
    const figures: Figure[] = [];
    const idle = { agent: [] as number[], go: [] as number[] };
    for (const frameRecords of FRAME_SIZES) {
      const streams = writeStreams(dir, frameRecords);
      const repeat = Math.max(1, Math.round((RECORDS_PER_RUN * scale) / CONNECTIONS / streams.recordsPerFile));
      const params = { connections: CONNECTIONS, frame_records: frameRecords, records_per_run: streamTotals(streams, repeat).records, writer: "bench/go-baseline/blaster", go: version };
      figures.push(...(await frameSizeFigures(go, dir, streams, repeat, repeats, idle, params)));
    }
    figures.push(summarize("vs_go.agent_idle_rss", "MiB", "lower", idle.agent, { output: "discard" }), summarize("vs_go.go_idle_rss", "MiB", "lower", idle.go));
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    go.remove();
  }
}

/** Fresh receivers for one frame size: `repeats` rounds of agent, Go and sink; their idle RSS goes into `idle`. */
async function frameSizeFigures(
  go: GoPrograms,
  dir: string,
  streams: Streams,
  repeat: number,
  repeats: number,
  idle: { agent: number[]; go: number[] },
  params: { frame_records: number } & Record<string, unknown>,
): Promise<Figure[]> {
  const p = `vs_go.frame_${params.frame_records}`;
  const stops: (() => Promise<void>)[] = [];
  try {
    const agent = await startAgent(["--output", "discard", "--spool-dir", ""]);
    stops.push(agent.close);
    const goRx = await startGoReceiver(go.receiver, join(dir, `go-${params.frame_records}.sock`));
    stops.push(goRx.close);
    const sink = await startGoReceiver(go.receiver, join(dir, `sink-${params.frame_records}.sock`), true);
    stops.push(sink.close);
    idle.agent.push(memory(agent.proc.pid).rssMiB);
    idle.go.push(memory(goRx.proc.pid).rssMiB);
    const targets: Record<"agent" | "go" | "sink", Target> = {
      agent: { pid: agent.proc.pid, socket: agent.socket, count: counter(agent.port, RECEIVED) },
      go: { pid: goRx.proc.pid, socket: goRx.socket, count: goRx.count },
      sink: { pid: sink.proc.pid, socket: sink.socket, count: sink.count },
    };
    const group = await repeatMany(
      repeats,
      {
        [`${p}.agent`]: { unit: "records/s", better: "higher" },
        [`${p}.go`]: { unit: "records/s", better: "higher" },
        [`${p}.ratio`]: { unit: "× Go", better: "higher" },
        [`${p}.agent_peak_rss`]: { unit: "MiB", better: "lower" },
        [`${p}.go_peak_rss`]: { unit: "MiB", better: "lower" },
        [`${p}.writer_ceiling`]: { unit: "records/s", better: "higher" },
      },
      (run) => oneRound(go, targets, streams, repeat, run, p),
      params,
    );
    await goRx.assertNothingRefused();
    group.find((f) => f.name === `${p}.ratio`)!.target = `≥ ${RATIO_TARGETS[params.frame_records]!.toFixed(1)} (issue #10)`;
    warnIfWriterBound(group, p);
    return group;
  } finally {
    await Promise.all(stops.map((stop) => stop()));
  }
}

/** One repeat: agent and Go back to back (order alternating by `run`), then the sink. */
async function oneRound(go: GoPrograms, targets: Record<"agent" | "go" | "sink", Target>, streams: Streams, repeat: number, run: number, p: string): Promise<Sample> {
  const total = streamTotals(streams, repeat);
  const order = run % 2 === 0 ? (["go", "agent"] as const) : (["agent", "go"] as const);
  const r: Partial<Record<"agent" | "go", { rate: number; peakMiB: number }>> = {};
  for (const who of order) r[who] = await blastInto(go.blaster, targets[who], streams, repeat, total.records, `${p}: ${who} records`);
  const sink = await blastInto(go.blaster, targets.sink, streams, repeat, total.bytes, `${p}: sink bytes`);
  return {
    [`${p}.agent`]: r.agent!.rate,
    [`${p}.go`]: r.go!.rate,
    [`${p}.ratio`]: r.agent!.rate / r.go!.rate,
    [`${p}.agent_peak_rss`]: r.agent!.peakMiB,
    [`${p}.go_peak_rss`]: r.go!.peakMiB,
    [`${p}.writer_ceiling`]: sink.rate,
  };
}

/** The figures are the receivers' only if the writer could go faster than both. */
function warnIfWriterBound(group: Figure[], p: string): void {
  const med = (name: string) => group.find((f) => f.name === `${p}.${name}`)!.median;
  const fastest = Math.max(med("agent"), med("go"));
  if (med("writer_ceiling") < fastest * 1.2) {
    console.log(`  WARNING ${p}: the writer's ceiling (${Math.round(med("writer_ceiling"))} records/s) is within 20% of the fastest receiver (${Math.round(fastest)}): figures may be writer-bound`);
  }
}
