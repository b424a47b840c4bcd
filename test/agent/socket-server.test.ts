import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAgent } from "../../src/agent/agent.ts";
import { SocketPathError } from "../../src/agent/socket-server.ts";
import { agentConfig, connect, endAndWait, metricValue, sendBytes, startTestAgent, type TestAgent, write } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";
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
