// The standard process metrics (CPU, memory, file descriptors, event loop
// lag, GC) for both roles, minus the per-heap-space gauges: under Bun each
// scrape of those walks the whole heap (about 14 ms with a busy heap, most
// of a scrape's cost), and JSC has no V8 heap spaces for them to describe.
import { collectDefaultMetrics, type Registry } from "prom-client";

const COSTLY = [
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
];

export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of COSTLY) registry.removeSingleMetric(name);
}
