import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createAgentMetrics } from "../../src/agent/metrics.ts";
import { StdoutOutput } from "../../src/agent/outputs/stdout.ts";
import { FrameDecoder } from "../../src/wire/decoder.ts";
import { CaptureStream, queuedBatch } from "../helpers/agent.ts";
import { vector } from "../helpers/vectors.ts";
import { registryMetric } from "../helpers/metrics.ts";
import { until } from "../helpers/until.ts";

const NOW = new Date("2025-12-08T20:58:50.123Z");

function v2LogsBatch() {
  const [frame] = new FrameDecoder().push(vector("v2_logs").bytes);
  if (frame?.kind !== "logs") throw new Error("v2_logs did not decode");
  return queuedBatch(frame.request, frame.bytes, 0);
}

const GOLDEN = [
  `{"ts":"2025-12-08T20:58:50.123Z","level":"INFO","msg":"boundary_request","fields":{"decision":"allow","session_id":"8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f","sequence_number":0,"confined_process_name":"claude","http_method":"GET","http_url":"https://github.com/coder/boundary","matched_rule":"domain=github.com","event_time":"2025-12-08T20:58:46.093Z"}}`,
  `{"ts":"2025-12-08T20:58:50.123Z","level":"WARN","msg":"boundary_request","fields":{"decision":"deny","session_id":"8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f","sequence_number":1,"confined_process_name":"claude","http_method":"POST","http_url":"https://pastebin.com/api/api_post.php","event_time":"2025-12-08T20:58:47.000000005Z"}}`,
  `{"ts":"2025-12-08T20:58:50.123Z","level":"WARN","msg":"boundary_request","fields":{"decision":"deny","session_id":"8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f","sequence_number":2,"confined_process_name":"claude","http_method":"GET","http_url":"https://例え.jp/path?q=\\"x\\"\\n[info] forged line","event_time":"2025-12-08T20:58:48Z"}}`,
];

test("v2_logs becomes exactly the golden JSON lines; the forged line stays inside one escaped line", async () => {
  const stream = new CaptureStream();
  const metrics = createAgentMetrics();
  const out = new StdoutOutput({ metrics, stream, now: () => NOW });
  await out.write(v2LogsBatch());
  expect(stream.text).toBe(GOLDEN.join("\n") + "\n");
  expect(stream.text.split("\n")).toHaveLength(4);
  expect(stream.chunks).toHaveLength(1); // one write per batch
  expect(JSON.parse(stream.lines[2]!).fields.http_url).toBe('https://例え.jp/path?q="x"\n[info] forged line');
  expect(await registryMetric(metrics.registry, "agent_boundary_log_proxy_records_written_total")).toBe(3);
});

test("a slow stdout holds the write until it drains", async () => {
  let finish: (() => void) | null = null;
  const slow = new Writable({
    highWaterMark: 16,
    write(_chunk, _enc, cb) {
      finish = () => cb();
    },
  });
  const out = new StdoutOutput({ metrics: createAgentMetrics(), stream: slow, now: () => NOW });
  let done = false;
  const writing = out.write(v2LogsBatch()).then(() => (done = true));
  await until(() => finish !== null, { what: "the chunk handed to the stream" });
  await new Promise((r) => setImmediate(r)); // every microtask has run: a write that did not wait for the stream would have settled
  expect(done).toBe(false);
  finish!();
  await writing;
  expect(done).toBe(true);
});

test("a failed stdout makes the output not ready and its writes reject", async () => {
  const broken = new Writable({
    write(_chunk, _enc, cb) {
      cb(new Error("EPIPE"));
    },
  });
  const out = new StdoutOutput({ metrics: createAgentMetrics(), stream: broken, now: () => NOW });
  await out.write(v2LogsBatch()).catch(() => {});
  expect(await until(() => out.notReadyReason(), { what: "the output to say it is not ready" })).toContain("EPIPE");
  await expect(out.write(v2LogsBatch())).rejects.toThrow("EPIPE");
});
