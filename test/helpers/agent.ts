// Starts a real agent (real Unix socket, real HTTP server on 127.0.0.1:0)
// in a temp dir, with its warnings and stdout output captured; plus small
// helpers to talk to it and read its metrics.
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type AgentHandle, type AgentDeps, startAgent } from "../../src/agent/agent.ts";
import { type AgentConfig, agentOptions } from "../../src/config/agent.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { QueuedBatch } from "../../src/agent/output.ts";
import type { ReportBoundaryLogsRequest } from "../../src/gen/coder/agent/v2/boundary_pb.ts";

import { type Labels, type ReadOptions, registryMetric } from "./metrics.ts";
import { tempDir } from "./temp.ts";
import { until } from "./until.ts";

export function agentConfig(dir: string, argv: string[] = []): AgentConfig {
  const env = { TMPDIR: dir, HOME: dir };
  return loadConfig<AgentConfig>(agentOptions(env), {
    argv: ["--socket", join(dir, "boundary-audit.sock"), "--http-listen", "127.0.0.1:0", "--output", "stdout", ...argv],
    env,
  }).config;
}

/** A Writable that keeps what was written. */
export class CaptureStream extends Writable {
  chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  get text(): string {
    return this.chunks.join("");
  }
  get lines(): string[] {
    return this.text.split("\n").filter((l) => l !== "");
  }
}

export interface TestAgent extends AgentHandle {
  dir: string;
  stdout: CaptureStream;
  warnings: string[];
  /** Stops the agent and removes its temp dir. */
  close(): Promise<void>;
}

export async function startTestAgent(argv: string[] = [], deps: AgentDeps = {}): Promise<TestAgent> {
  const { dir, cleanup } = tempDir("br-agent-");
  const stdout = new CaptureStream();
  const warnings: string[] = [];
  const agent = await startAgent(agentConfig(dir, argv), { stdout, log: (l) => warnings.push(l), ...deps });
  return {
    ...agent,
    dir,
    stdout,
    warnings,
    close: async () => {
      await agent.stop();
      cleanup();
    },
  };
}

/** registryMetric over the agent's registry, `name` without the agent_boundary_log_proxy_ prefix. */
export function metricValue(agent: AgentHandle, name: string, labels: Labels = {}, opts: ReadOptions = {}): Promise<number> {
  return registryMetric(agent.metrics.registry, `agent_boundary_log_proxy_${name}`, labels, opts);
}

export function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

export function write(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
}

/** Ends our side and waits until the socket is fully closed. */
export function endAndWait(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once("close", () => resolve());
    socket.on("error", () => {});
    socket.end();
  });
}

/** Connects, writes `bytes`, ends. */
export async function sendBytes(path: string, bytes: Uint8Array): Promise<void> {
  const s = await connect(path);
  await write(s, bytes);
  await endAndWait(s);
}

/** A queue entry holding a decoded request, as the socket server makes one for a decoding output. */
export function queuedBatch(request: ReportBoundaryLogsRequest, bytes = 0, receivedAt = Date.now()): QueuedBatch {
  return { records: request.logs.length, request, encoded: null, bytes, receivedAt };
}
