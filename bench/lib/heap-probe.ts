// Runs `boundary-relay ARGS…` from source (src/cli/run.ts) in this process
// and, every HEAP_PROBE_MS (default 250), appends one JSON line to
// HEAP_PROBE_OUT with the JavaScriptCore heap (bun:jsc heapStats), Bun's view
// of the process's memory (bun:jsc memoryUsage: mimalloc's commit) and
// process.memoryUsage(). For bench/memory-floor.ts: the JSC heap's view of
// the agent without a debug endpoint in src/. Costs the process a heap walk
// per sample (objectTypeCounts), so it is never used for throughput figures.
//   HEAP_PROBE_OUT=/tmp/x.jsonl bun bench/lib/heap-probe.ts agent --socket S …
import { appendFileSync } from "node:fs";
import { heapStats, memoryUsage as jscMemory } from "bun:jsc";
import { runCli } from "../../src/cli/run.ts";

export interface HeapSample {
  atMs: number;
  rss: number;
  heapSize: number;
  heapCapacity: number;
  extraMemorySize: number;
  objectCount: number;
  /** bun:jsc memoryUsage().currentCommit: what mimalloc (Bun's allocator outside the JS heap) has committed. */
  allocatorCommit: number;
  arrayBuffers: number;
  external: number;
  topTypes: [string, number][];
}

function sample(): HeapSample {
  const heap = heapStats();
  const proc = process.memoryUsage();
  return {
    atMs: Date.now(),
    rss: proc.rss,
    heapSize: heap.heapSize,
    heapCapacity: heap.heapCapacity,
    extraMemorySize: heap.extraMemorySize,
    objectCount: heap.objectCount,
    allocatorCommit: jscMemory().currentCommit,
    arrayBuffers: proc.arrayBuffers,
    external: proc.external,
    topTypes: Object.entries(heap.objectTypeCounts).slice(0, 5),
  };
}

if (import.meta.main) {
  const out = process.env.HEAP_PROBE_OUT;
  if (!out) throw new Error("HEAP_PROBE_OUT is required");
  const timer = setInterval(() => appendFileSync(out, `${JSON.stringify(sample())}\n`), Number(process.env.HEAP_PROBE_MS ?? 250));
  timer.unref();
  process.exitCode = await runCli(process.argv.slice(2), process.env);
}
