import { afterEach, expect, test } from "bun:test";
import type { RecordOutput } from "../../src/agent/output.ts";
import { startTestAgent, type TestAgent } from "../helpers/agent.ts";

let agent: TestAgent | null = null;
afterEach(async () => {
  await agent?.close();
  agent = null;
});

const url = (a: TestAgent, path: string) => `http://127.0.0.1:${a.http.port}${path}`;

test("/healthz, /readyz and /metrics on a running agent", async () => {
  agent = await startTestAgent();
  const health = await fetch(url(agent, "/healthz"));
  expect(health.status).toBe(200);
  expect(await health.text()).toBe("ok");
  const ready = await fetch(url(agent, "/readyz"));
  expect(ready.status).toBe(200);
  const metrics = await fetch(url(agent, "/metrics"));
  expect(metrics.status).toBe(200);
  expect(metrics.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  const body = await metrics.text();
  expect(body).toContain('agent_boundary_log_proxy_logs_dropped_total{reason="buffer_full"} 0');
  expect(body).toContain("agent_boundary_log_proxy_batches_forwarded_total 0");
  expect(body).toContain("agent_boundary_log_proxy_connections_open 0");
});

test("/readyz is 503 with the reason while the output is not ready, or the socket is not listening", async () => {
  let reason: string | null = "spool directory is not writable";
  const output: RecordOutput = { write: async () => {}, notReadyReason: () => reason, close: async () => {} };
  agent = await startTestAgent([], { output });
  const notReady = await fetch(url(agent, "/readyz"));
  expect(notReady.status).toBe(503);
  expect((await notReady.json()).reason).toBe("spool directory is not writable");
  reason = null;
  expect((await fetch(url(agent, "/readyz"))).status).toBe(200);
  await agent.socket.stop();
  const stopped = await fetch(url(agent, "/readyz"));
  expect(stopped.status).toBe(503);
  expect((await stopped.json()).reason).toContain("not listening");
});

test("/readyz answers the same JSON shape as coderd's: ready, a text reason, details", async () => {
  agent = await startTestAgent();
  const ready = await fetch(url(agent, "/readyz"));
  expect(ready.headers.get("content-type")).toContain("application/json");
  const body = await ready.json();
  expect(body).toEqual({ ready: true, reason: "ready", details: { socket: expect.stringContaining("(listening)") } });
});
