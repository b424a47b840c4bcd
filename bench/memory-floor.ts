// `bun bench/memory-floor.ts [--records N]`: where the agent's RSS goes.
// Prints two small tables from external measurement only (no debug endpoint
// in src/):
//  1. RSS from /proc/PID/status (VmRSS = RssAnon + RssFile + RssShmem) and
//     smaps_rollup, for: the runtime's floor (a `bun build --compile`
//     hello-world that only keeps Bun.serve and a Bun.listen Unix listener
//     open), the Go baseline receiver, and the compiled agent
//     (--output discard), idle, at peak under load (10-record frames from 4
//     connections, the Go blaster) and 2 s after the load.
//  2. The JavaScriptCore view of the same load: the agent run from source by
//     bench/lib/heap-probe.ts (bun:jsc heapStats, mimalloc's commit,
//     ArrayBuffers), idle, at its RSS peak and after.
// Needs `npm run build` (dist/boundary-relay) and, for the load, `go`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blastInto, CONNECTIONS, type Streams, streamTotals, type Target, writeStreams } from "./lib/blast.ts";
import { buildGoPrograms, type GoPrograms, goVersion, startGoReceiver } from "./lib/go.ts";
import type { HeapSample } from "./lib/heap-probe.ts";
import { BINARY, freePort, type Proc, sleep, start, waitForLine, waitReady } from "./lib/proc.ts";
import { counter, RECEIVED, startAgent } from "./lib/stack.ts";

const SETTLE_MS = 1000;
const AFTER_LOAD_MS = 2000;
const FRAME_RECORDS = 10;
const MiB = 1024 * 1024;
const wantedRecords = Number(process.argv.includes("--records") ? process.argv[process.argv.indexOf("--records") + 1] : 2_000_000);

/** The floor: what a compiled Bun binary holding the same two listeners costs. */
const FLOOR_SOURCE = `
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok\\n") });
Bun.listen({ unix: process.argv[2], socket: { data() {} } });
console.log("ready " + server.port);
`;

// ------------------------------------------------------------ /proc readers

interface RssSample {
  vmRss: number;
  rssAnon: number;
  rssFile: number;
  rssShmem: number;
}

function rssOf(pid: number): RssSample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { vmRss: kib("VmRSS"), rssAnon: kib("RssAnon"), rssFile: kib("RssFile"), rssShmem: kib("RssShmem") };
}

/** Selected smaps_rollup fields, bytes. */
function smapsOf(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const out: Record<string, number> = {};
  for (const key of ["Pss", "Private_Dirty", "Shared_Clean", "Private_Clean"]) {
    out[key] = Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  }
  return out;
}

/** Samples rssOf(pid) every 50 ms until stopped; returns the sample with the highest VmRSS. */
function watchPeak(pid: number): () => RssSample {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    const s = rssOf(pid);
    if (s.vmRss > peak.vmRss) peak = s;
  }, 50);
  return () => (clearInterval(timer), peak);
}

// ------------------------------------------------------------ processes

function buildFloor(dir: string): string {
  const src = join(dir, "floor.ts");
  const out = join(dir, "floor");
  writeFileSync(src, FLOOR_SOURCE);
  const r = spawnSync(process.execPath, ["build", "--compile", "--minify", src, "--outfile", out], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bun build --compile of the floor program failed:\n${r.stdout}${r.stderr}`);
  return out;
}

async function startFloor(binary: string, socket: string): Promise<Proc> {
  const proc = start(binary, [socket], ["ignore", "pipe", "inherit"]);
  const ready = await waitForLine(proc.child, (l) => l.startsWith("ready "), 30_000);
  await waitReady(Number(ready.split(" ")[1]), proc, "/");
  return proc;
}

/** The agent from source with the heap probe; its samples land in `out`. */
async function startProbedAgent(dir: string, out: string): Promise<{ proc: Proc; target: Target }> {
  const port = await freePort();
  const socket = join(dir, "probe.sock");
  const args = [join(import.meta.dir, "lib", "heap-probe.ts"), "agent", "--socket", socket, "--http-listen", `127.0.0.1:${port}`, "--output", "discard", "--spool-dir", ""];
  process.env.HEAP_PROBE_OUT = out; // inherited by the child
  const proc = start(process.execPath, args, ["ignore", "ignore", "inherit"]);
  await waitReady(port, proc, "/healthz");
  return { proc, target: { pid: proc.pid, socket, count: counter(port, RECEIVED) } };
}

// ------------------------------------------------------------ measurement

interface Row {
  what: string;
  when: string;
  rss: RssSample;
  smaps?: Record<string, number>;
  /** For the peak row: when the load ran (Date.now() ms). */
  load?: { fromMs: number; toMs: number };
}

/** The load: every stream `repeat` times, by the Go blaster. */
interface Load {
  go: GoPrograms;
  streams: Streams;
  repeat: number;
}

/** The idle row of a process. */
async function idleRow(what: string, pid: number): Promise<Row> {
  await sleep(SETTLE_MS);
  return { what, when: "idle", rss: rssOf(pid), smaps: smapsOf(pid) };
}

/** Idle, peak under `load` and after it, for one receiver (idle only without a load). */
async function underLoad(what: string, target: Target, load: Load | null): Promise<Row[]> {
  const rows = [await idleRow(what, target.pid)];
  if (!load) return rows;
  const { records } = streamTotals(load.streams, load.repeat);
  const peak = watchPeak(target.pid);
  const fromMs = Date.now();
  await blastInto(load.go.blaster, target, load.streams, load.repeat, records, `${what}: records`);
  const ran = { fromMs, toMs: Date.now() };
  rows.push({ what, when: `peak, ${records.toLocaleString("en-US")} records`, rss: peak(), smaps: smapsOf(target.pid), load: ran });
  await sleep(AFTER_LOAD_MS);
  rows.push({ what, when: `${AFTER_LOAD_MS / 1000} s after`, rss: rssOf(target.pid), smaps: smapsOf(target.pid) });
  return rows;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1);

function markdown(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

function rssTable(rows: Row[]): string {
  return markdown(
    ["process", "when", "VmRSS MiB", "RssAnon", "RssFile", "RssShmem", "Pss", "Private_Dirty", "Shared_Clean"],
    rows.map((r) => [r.what, r.when, mib(r.rss.vmRss), mib(r.rss.rssAnon), mib(r.rss.rssFile), mib(r.rss.rssShmem), ...["Pss", "Private_Dirty", "Shared_Clean"].map((k) => (r.smaps ? mib(r.smaps[k]!) : "-"))]),
  );
}

function heapTable(samples: { when: string; s: HeapSample }[]): string {
  return markdown(
    ["when", "rss MiB", "JSC heapSize", "heapCapacity", "extraMemory", "mimalloc committed*", "ArrayBuffers", "objects", "top cell types"],
    samples.map(({ when, s }) => [
      when,
      mib(s.rss),
      mib(s.heapSize),
      mib(s.heapCapacity),
      mib(s.extraMemorySize),
      mib(s.allocatorCommit),
      mib(s.arrayBuffers),
      s.objectCount.toLocaleString("en-US"),
      s.topTypes.map(([t, n]) => `${t} ${n}`).join(", "),
    ]),
  );
}

/** The probe's samples at three moments: before the load, at the RSS peak during it, and the last. */
function heapMoments(samples: HeapSample[], load?: { fromMs: number; toMs: number }): { when: string; s: HeapSample }[] {
  if (samples.length === 0) return [];
  const before = samples.filter((s) => !load || s.atMs < load.fromMs);
  const during = load ? samples.filter((s) => s.atMs >= load.fromMs && s.atMs <= load.toMs) : [];
  const moments = [{ when: "idle", s: before.at(-1) ?? samples[0]! }];
  if (during.length > 0) moments.push({ when: "at RSS peak under load", s: during.reduce((a, b) => (b.rss > a.rss ? b : a)) });
  moments.push({ when: "last (after load)", s: samples.at(-1)! });
  return moments;
}

function readProbe(path: string): HeapSample[] {
  return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as HeapSample) : [];
}

async function main(): Promise<void> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} not found: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), "bench-memory-"));
  const version = goVersion();
  const go = version ? buildGoPrograms() : null;
  if (!go) console.log("go is not on PATH: idle figures only (the load needs bench/go-baseline's blaster)");
  const streams = go ? writeStreams(dir, FRAME_RECORDS) : null;
  const load = go && streams ? { go, streams, repeat: Math.max(1, Math.round(wantedRecords / CONNECTIONS / streams.recordsPerFile)) } : null;
  const rows: Row[] = [];
  const procs: { stop(): Promise<void> }[] = [];
  try {
    const floor = await startFloor(buildFloor(dir), join(dir, "floor.sock"));
    procs.push(floor);
    rows.push(await idleRow("floor: bun --compile hello (Bun.serve + Bun.listen)", floor.pid));

    if (go) {
      const goRx = await startGoReceiver(go.receiver, join(dir, "go.sock"));
      procs.push(goRx.proc);
      rows.push(...(await underLoad("go baseline receiver", { pid: goRx.proc.pid, socket: goRx.socket, count: goRx.count }, load)));
    }

    const agent = await startAgent(["--output", "discard", "--spool-dir", ""]);
    procs.push({ stop: agent.close });
    rows.push(...(await underLoad("agent (compiled, --output discard)", { pid: agent.proc.pid, socket: agent.socket, count: counter(agent.port, RECEIVED) }, load)));

    const probeOut = join(dir, "heap.jsonl");
    const probed = await startProbedAgent(dir, probeOut);
    procs.push(probed.proc);
    const probeRows = await underLoad("agent (from source, heap probe)", probed.target, load);
    rows.push(...probeRows);

    console.log(`\nRSS by process (${CONNECTIONS} connections, ${FRAME_RECORDS}-record frames; MiB)\n`);
    console.log(rssTable(rows));
    console.log("\nJavaScriptCore's view (agent from source under bun, bench/lib/heap-probe.ts; MiB)\n");
    console.log(heapTable(heapMoments(readProbe(probeOut), probeRows.find((r) => r.load)?.load)));
    console.log("* committed address space (bun:jsc memoryUsage().currentCommit), not all of it resident; heapSize and objects count what survived the last GC");
  } finally {
    for (const p of procs.reverse()) await p.stop();
    go?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
