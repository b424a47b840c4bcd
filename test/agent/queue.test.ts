import { expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { createAgentMetrics } from "../../src/agent/metrics.ts";
import type { QueuedBatch, RecordOutput } from "../../src/agent/output.ts";
import { BatchQueue } from "../../src/agent/queue.ts";
import { ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { queuedBatch } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { registryMetric } from "../helpers/metrics.ts";

function batch(records: number, bytes: number, sessionId = "s"): QueuedBatch {
  const request = create(ReportBoundaryLogsRequestSchema, {
    sessionId,
    logs: Array.from({ length: records }, (_, i) => ({ sequenceNumber: i })),
  });
  return queuedBatch(request, bytes, 0);
}

/** An output whose writes finish only when the test releases them. */
class GatedOutput implements RecordOutput {
  written: QueuedBatch[] = [];
  private gate: Promise<void>;
  private open!: () => void;
  constructor() {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open();
  }
  async write(b: QueuedBatch): Promise<void> {
    await this.gate;
    this.written.push(b);
  }
  notReadyReason(): string | null {
    return null;
  }
  async close(): Promise<void> {}
}

const value = (m: ReturnType<typeof createAgentMetrics>, name: string, labels: Record<string, string> = {}) =>
  registryMetric(m.registry, `agent_boundary_log_proxy_${name}`, labels);

test("at its record bound the queue says full instead of dropping; it keeps every batch, in order, and calls onRoom at half", async () => {
  const metrics = createAgentMetrics();
  let roomCalls = 0;
  const q = new BatchQueue({ maxRecords: 10, maxBytes: 1 << 20, metrics, onRoom: () => roomCalls++ });
  const out = new GatedOutput();
  q.start(out);
  expect(q.push(batch(4, 100, "a"))).toBe(true); // in the output's hands, still counted
  expect(q.push(batch(4, 100, "b"))).toBe(true);
  expect(q.push(batch(3, 100, "c"))).toBe(false); // 11 ≥ 10: full, but kept
  expect(q.isFull).toBe(true);
  expect(q.push(batch(2, 100, "d"))).toBe(false); // what was already read still enters
  expect(await value(metrics, "queue_records")).toBe(13);
  expect(await value(metrics, "queue_bytes")).toBe(400);
  expect(await value(metrics, "logs_dropped_total", { reason: "buffer_full" })).toBe(0);
  expect(await value(metrics, "batches_dropped_total", { reason: "buffer_full" })).toBe(0);
  expect(roomCalls).toBe(0);
  out.release();
  expect(await q.idle(Date.now() + 5000)).toBe(true);
  expect(out.written.map((b) => b.request!.sessionId)).toEqual(["a", "b", "c", "d"]);
  expect(roomCalls).toBe(1); // once, when it fell to 5 records or fewer
  expect(q.isFull).toBe(false);
  expect(await value(metrics, "queue_records")).toBe(0);
  expect(await value(metrics, "queue_bytes")).toBe(0);
});

test("the byte bound says full too, and room comes back only at half of it", async () => {
  const metrics = createAgentMetrics();
  let roomAt: number | null = null;
  const q = new BatchQueue({ maxRecords: 1000, maxBytes: 250, metrics, onRoom: () => (roomAt = q.bytes) });
  const out = new GatedOutput();
  q.start(out);
  expect(q.push(batch(1, 200))).toBe(true);
  expect(q.push(batch(1, 100))).toBe(false);
  out.release();
  await q.idle();
  expect(roomAt).not.toBeNull();
  expect(roomAt!).toBeLessThanOrEqual(125);
  expect(await value(metrics, "logs_dropped_total", { reason: "buffer_full" })).toBe(0);
});

test("a batch larger than the bound still enters an empty queue", async () => {
  const metrics = createAgentMetrics();
  const q = new BatchQueue({ maxRecords: 2, maxBytes: 10, metrics });
  const out = new GatedOutput();
  out.release();
  q.start(out);
  expect(q.push(batch(5, 500))).toBe(false); // taken, and full
  await q.idle();
  expect(out.written).toHaveLength(1);
  expect(q.isFull).toBe(false);
});

test("an output that throws loses that batch, counted and logged, and the queue goes on", async () => {
  const metrics = createAgentMetrics();
  const lines: string[] = [];
  const q = new BatchQueue({ maxRecords: 100, maxBytes: 1 << 20, metrics, log: (l) => lines.push(l) });
  let calls = 0;
  q.start({
    write: async () => {
      if (calls++ === 0) throw new Error("disk on fire");
    },
    notReadyReason: () => null,
    close: async () => {},
  });
  q.push(batch(2, 10));
  q.push(batch(3, 10));
  await q.idle();
  expect(calls).toBe(2);
  expect(await value(metrics, "logs_dropped_total", { reason: "forward_failed" })).toBe(2);
  expect(lines.join()).toContain("disk on fire");
});

test("the drain hands several batches to the output before the first is accepted, and keeps their order", async () => {
  const metrics = createAgentMetrics();
  const q = new BatchQueue({ maxRecords: 1000, maxBytes: 1 << 20, metrics });
  const out = new GatedOutput();
  const started: string[] = [];
  const write = out.write.bind(out);
  out.write = (b) => (started.push(b.request!.sessionId), write(b));
  q.start(out);
  for (const id of ["a", "b", "c"]) q.push(batch(1, 10, id));
  await new Promise((r) => setTimeout(r, 0));
  expect(started).toEqual(["a", "b", "c"]); // all pending at once (one group fsync can cover them)
  expect(q.records).toBe(3); // still counted until accepted
  out.release();
  expect(await q.idle(Date.now() + 5000)).toBe(true);
  expect(out.written.map((b) => b.request!.sessionId)).toEqual(["a", "b", "c"]);
  expect(q.records).toBe(0);
});

/** An output whose writes each finish when the test resolves them, in any order. */
class ManualOutput implements RecordOutput {
  calls: Array<{ batch: QueuedBatch; done: () => void }> = [];
  write(b: QueuedBatch): Promise<void> {
    return new Promise((resolve) => this.calls.push({ batch: b, done: resolve }));
  }
  notReadyReason(): string | null {
    return null;
  }
  async close(): Promise<void> {}
}

// Regression: one write at a time cost a whole spool fsync period per batch,
// so under a few thousand records/s the queue grew without bound and a
// SIGKILL, or a SIGTERM past shutdown_timeout, lost what it held.
test("the queue pipelines writes in order, up to maxPendingWrites, and a batch leaves only when it and all before it are done", async () => {
  const metrics = createAgentMetrics();
  const q = new BatchQueue({ maxRecords: 1000, maxBytes: 1 << 20, metrics, maxPendingWrites: 3 });
  const out = new ManualOutput();
  q.start(out);
  for (const id of ["a", "b", "c", "d", "e"]) q.push(batch(2, 10, id));
  await Bun.sleep(0);
  expect(out.calls.map((c) => c.batch.request!.sessionId)).toEqual(["a", "b", "c"]);
  out.calls[2]!.done(); // c finishes before a and b: nothing leaves the queue yet
  out.calls[1]!.done();
  await Bun.sleep(0);
  expect(q.records).toBe(10);
  expect(out.calls).toHaveLength(3);
  out.calls[0]!.done(); // a, then b and c (already done) leave; d and e are handed out
  await until(() => out.calls.length === 5, { what: "d and e handed out" });
  expect(q.records).toBe(4);
  expect(out.calls.map((c) => c.batch.request!.sessionId)).toEqual(["a", "b", "c", "d", "e"]);
  out.calls[3]!.done();
  out.calls[4]!.done();
  expect(await q.idle(Date.now() + 5000)).toBe(true);
  expect(q.records).toBe(0);
});

