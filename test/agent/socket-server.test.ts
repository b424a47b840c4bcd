import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { createConnection } from "node:net";
import { join } from "node:path";
import { startAgent } from "../../src/agent/agent.ts";
import { createAgentMetrics } from "../../src/agent/metrics.ts";
import type { QueuedBatch, RecordOutput } from "../../src/agent/output.ts";
import { SocketPathError } from "../../src/agent/socket-server.ts";
import { agentConfig, connect, endAndWait, metricValue, sendBytes, startTestAgent, type TestAgent, write } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";
import { ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { encodeLogsFrame, encodeLogsFrameV1 } from "../../src/wire/encoder.ts";
import { loadVectors, vector } from "../helpers/vectors.ts";

let agent: TestAgent | null = null;
afterEach(async () => {
  await agent?.close();
  agent = null;
});

const received = (a: TestAgent) => metricValue(a, "records_received_total");
const rejected = (a: TestAgent, reason: string) => metricValue(a, "frames_rejected_total", { reason });

describe("bad input on the socket", () => {
  for (const v of loadVectors().filter((v) => !v.expected.valid)) {
    test(`${v.name} is refused as ${v.expected.error}, and the server stays up`, async () => {
      agent = await startTestAgent();
      const a = agent;
      await sendBytes(a.config.socket, v.bytes);
      await until(async () => (await rejected(a, v.expected.error!)) === 1, { what: `${v.expected.error} counted` });
      await until(() => a.socket.openConnections === 0, { what: "connection gone" });
      expect(a.warnings.some((w) => w.includes(v.expected.error!))).toBe(true);
      // The server still takes a good connection.
      await sendBytes(a.config.socket, vector("v2_logs").bytes);
      await until(async () => (await received(a)) === 3, { what: "good records" });
      expect(await metricValue(a, "frames_rejected_total")).toBe(1);
      expect(await metricValue(a, "connections_open")).toBe(0);
    });
  }

  test("a malformed protobuf costs one frame; the connection lives on", async () => {
    agent = await startTestAgent();
    const a = agent;
    const s = await connect(a.config.socket);
    await write(s, vector("bad_protobuf").bytes);
    await write(s, vector("v2_logs").bytes);
    await until(async () => (await received(a)) === 3, { what: "records after the bad frame" });
    expect(await rejected(a, "malformed_protobuf")).toBe(1);
    expect(a.socket.openConnections).toBe(1);
    await endAndWait(s);
    await until(() => a.socket.openConnections === 0, { what: "closed" });
  });

  test("a bad connection does not disturb a good one sending at the same time", async () => {
    agent = await startTestAgent();
    const a = agent;
    const logs = vector("v2_logs").bytes;
    const good = await connect(a.config.socket);
    await write(good, logs.subarray(0, 7)); // mid-frame
    const bad = await connect(a.config.socket);
    await write(bad, vector("bad_unsupported_tag").bytes);
    await until(async () => (await rejected(a, "unsupported_tag")) === 1, { what: "bad refused" });
    await until(() => a.socket.openConnections === 1, { what: "bad closed by the agent" });
    await write(good, logs.subarray(7));
    await write(good, vector("v2_status").bytes);
    await until(async () => (await received(a)) === 3, { what: "good records" });
    await until(async () => (await metricValue(a, "logs_dropped_total", { reason: "boundary_channel_full" })) === 5, { what: "good status" });
    expect(await metricValue(a, "logs_dropped_total", { reason: "boundary_batch_full" })).toBe(2);
    expect(a.stdout.lines).toHaveLength(3);
    await endAndWait(good);
    bad.destroy();
    await until(() => a.socket.openConnections === 0, { what: "all closed" });
    expect(await metricValue(a, "frames_rejected_total")).toBe(1);
  });
});

describe("connections", () => {
  test("a peer that sends nothing, or half a header, leaves nothing behind", async () => {
    agent = await startTestAgent();
    const a = agent;
    const silent = await connect(a.config.socket);
    await until(async () => (await metricValue(a, "connections_open")) === 1, { what: "open" });
    await endAndWait(silent);
    await until(async () => (await metricValue(a, "connections_open")) === 0, { what: "closed" });
    expect(await metricValue(a, "frames_rejected_total")).toBe(0);

    const half = await connect(a.config.socket);
    await write(half, new Uint8Array([2, 0]));
    await endAndWait(half);
    await until(async () => (await rejected(a, "truncated")) === 1, { what: "truncated" });
    await until(async () => (await metricValue(a, "connections_open")) === 0, { what: "closed again" });
    expect(a.socket.openConnections).toBe(0);
    expect(await metricValue(a, "connections_total")).toBe(2);
    expect(await received(a)).toBe(0);
  });

  test("200 concurrent connections are served", async () => {
    agent = await startTestAgent(["--output", "discard"]);
    const a = agent;
    const single = vector("v1_single").bytes;
    const sockets = await Promise.all(Array.from({ length: 200 }, () => connect(a.config.socket)));
    await until(async () => (await metricValue(a, "connections_open")) === 200, { what: "200 open" });
    await Promise.all(sockets.map((s) => write(s, single)));
    await until(async () => (await received(a)) === 200, { what: "200 records" });
    await Promise.all(sockets.map(endAndWait));
    await until(() => a.socket.openConnections === 0, { what: "all closed" });
    expect(await metricValue(a, "records_written_total")).toBe(200);
    expect(await metricValue(a, "frames_rejected_total")).toBe(0);
  });
});

describe("the socket file", () => {
  test("is created with --socket-mode (default 0600) and removed on stop", async () => {
    agent = await startTestAgent();
    expect(statSync(agent.config.socket).mode & 0o777).toBe(0o600);
    await agent.close();
    expect(existsSync(agent.config.socket)).toBe(false);
    agent = await startTestAgent(["--socket-mode", "0660"]);
    expect(statSync(agent.config.socket).mode & 0o777).toBe(0o660);
  });

  test("a stale socket file is replaced", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const config = agentConfig(dir, ["--output", "discard"]);
      // A process that dies without cleaning up leaves a stale socket behind.
      spawnSync(process.execPath, ["-e", `Bun.listen({ unix: ${JSON.stringify(config.socket)}, socket: { data() {} } }); process.kill(process.pid, "SIGKILL")`]);
      expect(statSync(config.socket).isSocket()).toBe(true);
      const a = await startAgent(config, { log: () => {} });
      await sendBytes(config.socket, vector("v1_single").bytes);
      await until(async () => (await metricValue(a, "records_received_total")) === 1, { what: "record" });
      await a.stop();
    } finally {
      cleanup();
    }
  });

  test("a path that is not a socket is refused and left alone", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const config = agentConfig(dir);
      writeFileSync(config.socket, "precious");
      const err = await startAgent(config, { log: () => {} }).catch((e) => e);
      expect(err).toBeInstanceOf(SocketPathError);
      expect(String(err.message)).toContain("is not a socket");
      expect(readFileSync(config.socket, "utf8")).toBe("precious");
    } finally {
      cleanup();
    }
  });

  test("a socket another agent is listening on is refused", async () => {
    agent = await startTestAgent();
    const err = await startAgent({ ...agent.config }, { log: () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(SocketPathError);
    expect(String(err.message)).toContain("in use");
    await sendBytes(agent.config.socket, vector("v1_single").bytes);
    const a = agent;
    await until(async () => (await received(a)) === 1, { what: "first agent still serves" });
  });
});

test("socket path directory is created when missing", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const a = await startAgent(agentConfig(dir, ["--socket", join(dir, "sub", "a.sock")]), { log: () => {} });
    expect(statSync(join(dir, "sub", "a.sock")).isSocket()).toBe(true);
    await a.stop();
  } finally {
    cleanup();
  }
});

/** An output whose writes wait until the test opens the gate. */
class GatedOutput implements RecordOutput {
  readonly takes = "encoded" as const;
  records = 0;
  private open!: () => void;
  private gate = new Promise<void>((r) => (this.open = r));
  release(): void {
    this.open();
  }
  async write(b: QueuedBatch): Promise<void> {
    await this.gate;
    this.records += b.records;
  }
  notReadyReason(): string | null {
    return null;
  }
  async close(): Promise<void> {}
}

describe("backpressure", () => {
  test("a full queue pauses reading instead of dropping; reading resumes when it drains, nothing is lost", async () => {
    const out = new GatedOutput();
    agent = await startTestAgent(["--queue-max-records", "20"], { output: out });
    const a = agent;
    const s = await connect(a.config.socket);
    const single = vector("v1_single").bytes;
    const frames = 5000;
    const stream = new Uint8Array(single.length * frames);
    for (let i = 0; i < frames; i++) stream.set(single, i * single.length);
    const written = write(s, stream);
    await until(() => a.socket.readingPaused, { what: "reading paused" });
    expect(await metricValue(a, "socket_reads_paused_total")).toBe(1);
    const heldBack = await received(a);
    expect(heldBack).toBeLessThan(frames); // the rest waits in the kernel and the writer
    out.release();
    await written;
    await until(async () => (await received(a)) === frames, { what: "every record", timeoutMs: 20_000 });
    await until(() => out.records === frames, { what: "written", timeoutMs: 20_000 });
    expect(await metricValue(a, "logs_dropped_total", { reason: "buffer_full" })).toBe(0);
    expect(a.socket.readingPaused).toBe(false);
    await endAndWait(s);
  });
});

describe("connection limits", () => {
  test("the connection over --max-connections is closed at once and counted; the others carry on", async () => {
    agent = await startTestAgent(["--max-connections", "3"]);
    const a = agent;
    const held = await Promise.all([1, 2, 3].map(() => connect(a.config.socket)));
    await until(() => a.socket.openConnections === 3, { what: "3 open" });
    const extra = createConnection({ path: a.config.socket });
    extra.on("error", () => {});
    await new Promise((r) => extra.once("close", r));
    expect(await metricValue(a, "connections_rejected_total", { reason: "too_many" })).toBe(1);
    expect(a.warnings.some((w) => w.includes("--max-connections"))).toBe(true);
    await Promise.all(held.map((s) => write(s, vector("v1_single").bytes)));
    await until(async () => (await received(a)) === 3, { what: "3 records" });
    await Promise.all(held.map(endAndWait));
  });

  test("a connection silent mid-frame for --socket-idle-timeout is closed and counted; one silent between frames is not", async () => {
    agent = await startTestAgent(["--socket-idle-timeout", "200ms"]);
    const a = agent;
    const between = await connect(a.config.socket);
    await write(between, vector("v1_single").bytes);
    const midFrame = await connect(a.config.socket);
    await write(midFrame, vector("v2_logs").bytes.subarray(0, 9));
    await until(async () => (await metricValue(a, "partial_frame_bytes")) > 0, { what: "partial frame held" });
    await new Promise((r) => midFrame.once("close", r));
    expect(await metricValue(a, "connections_rejected_total", { reason: "idle_timeout" })).toBe(1);
    expect(await metricValue(a, "partial_frame_bytes")).toBe(0);
    expect(await rejected(a, "truncated")).toBe(0); // counted once, as idle_timeout
    expect(a.socket.openConnections).toBe(1);
    expect(between.destroyed).toBe(false);
    await endAndWait(between);
  });
});

describe("socket ownership", () => {
  test("stop leaves alone a socket file that another process put at our path, and /readyz says the socket is gone", async () => {
    agent = await startTestAgent();
    const a = agent;
    expect(a.socket.problem()).toBeNull();
    unlinkSync(a.config.socket);
    const other = Bun.listen({ unix: a.config.socket, socket: { data() {} } });
    try {
      expect(a.socket.problem()).toContain("removed or replaced");
      const ready = await fetch(`http://${a.http.hostname}:${a.http.port}/readyz`);
      expect(ready.status).toBe(503);
      const ino = statSync(a.config.socket).ino;
      await a.stop();
      expect(statSync(a.config.socket).ino).toBe(ino);
    } finally {
      other.stop(true);
    }
  });
});

test("labelled counters with a closed label set are exposed at 0 from the start", async () => {
  const text = await createAgentMetrics().registry.metrics();
  for (const line of [
    'agent_boundary_log_proxy_frames_received_total{kind="logs"} 0',
    'agent_boundary_log_proxy_frames_received_total{kind="status"} 0',
    'agent_boundary_log_proxy_frames_received_total{kind="unknown"} 0',
    'agent_boundary_log_proxy_frames_rejected_total{reason="invalid_record"} 0',
    'agent_boundary_log_proxy_connections_rejected_total{reason="too_many"} 0',
    'agent_boundary_log_proxy_connections_rejected_total{reason="idle_timeout"} 0',
    'agent_boundary_log_proxy_logs_dropped_total{reason="buffer_full"} 0',
  ]) {
    expect(text).toContain(line);
  }
});

describe("records coderd would refuse are refused at the socket", () => {
  /** The poison request: BoundaryLog.time claims 5 bytes while 2 remain inside its record. */
  const poison = Buffer.concat([
    Buffer.from([0x0a, 0x21]), Buffer.from("1a1b0a034745541214", "hex"), Buffer.from("https://example.com/"), Buffer.from("12050801", "hex"),
    Buffer.from([0x1a, 0x01]), Buffer.from("x"), Buffer.from([0x12, 0x24]), Buffer.from("11111111-2222-4333-8444-555555555550"),
  ]);
  const framed = (tag: number, payload: Uint8Array) => {
    const header = Buffer.from([tag, 0, 0, 0]);
    header.writeUIntBE(payload.length, 1, 3);
    return Buffer.concat([header, payload]);
  };
  const badNanos = create(ReportBoundaryLogsRequestSchema, {
    sessionId: "11111111-2222-4333-8444-555555555551",
    logs: [{ sequenceNumber: 0, time: { seconds: 1n, nanos: 1_000_000_000 }, resource: { case: "httpRequest", value: { method: "GET", url: "https://a/" } } }],
  });

  test("a nested length past its record (tag 1 and tag 2) is malformed_protobuf; a time out of range is invalid_record; each costs its frame only", async () => {
    agent = await startTestAgent();
    const a = agent;
    const s = await connect(a.config.socket);
    const envelope = Buffer.concat([Buffer.from([0x0a, poison.length]), poison]); // BoundaryMessage{logs: poison}
    await write(s, framed(1, poison));
    await write(s, framed(2, envelope));
    await write(s, encodeLogsFrame(badNanos));
    await write(s, encodeLogsFrameV1(badNanos));
    await write(s, vector("v2_logs").bytes);
    await until(async () => (await received(a)) === 3, { what: "the good frame after the bad ones" });
    expect(await rejected(a, "malformed_protobuf")).toBe(2);
    expect(await rejected(a, "invalid_record")).toBe(2);
    expect(a.socket.openConnections).toBe(1);
    expect(a.warnings.filter((w) => w.includes("invalid_record"))).toHaveLength(1); // once per connection and reason
    expect(a.warnings.some((w) => w.includes("logs[0].time.nanos"))).toBe(true);
    expect(a.stdout.lines).toHaveLength(3);
    await endAndWait(s);
  });
});
