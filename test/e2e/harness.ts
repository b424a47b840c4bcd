// End-to-end harness: the REAL compiled binary (dist/boundary-relay, or
// BOUNDARY_RELAY_BIN) as coderd and as agent child processes, a real SQLite
// store read back directly, Prometheus scrapes, and a ledger of exactly
// which records in-process boundary clients wrote to the agent's socket.
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { BoundaryClient, type ClientRecord, demoRecords } from "../../src/client/index.ts";
import { type BoundaryLog, BoundaryLogSchema, ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { encodeLogsFrame } from "../../src/wire/encoder.ts";
import {  } from "../helpers/agent.ts";
import { type Child, startCli } from "../helpers/cli.ts";
import { parseSeries, type Sample, scrapeMetrics, valueOf } from "../helpers/metrics.ts";
import { until } from "../helpers/until.ts";
import { ensureBuilt } from "../helpers/build.ts";

// ------------------------------------------------------------ the binary

let built: string | null = null;

/**
 * The binary under test: BOUNDARY_RELAY_BIN, else dist/boundary-relay,
 * (re)built when missing or older than src/ (test/helpers/build.ts).
 */
export function binary(): string {
  if (process.env.BOUNDARY_RELAY_BIN) return process.env.BOUNDARY_RELAY_BIN;
  if (built) return built;
  const bin = join(ensureBuilt(), "boundary-relay");
  built = bin;
  return bin;
}

function startBinary(args: string[], env: Record<string, string> = {}): Child {
  const previous = process.env.BOUNDARY_RELAY_BIN;
  process.env.BOUNDARY_RELAY_BIN = binary();
  try {
    return startCli(args, env);
  } finally {
    if (previous === undefined) delete process.env.BOUNDARY_RELAY_BIN;
    else process.env.BOUNDARY_RELAY_BIN = previous;
  }
}

// ------------------------------------------------------------ temp dirs, ports

/** A loopback port nobody listens on right now. */
export { freePort } from "../helpers/ports.ts";

// ------------------------------------------------------------ processes

export const AGENT_TOKEN = "e2e-agent-token-0123456789";
export const ADMIN_TOKEN = "e2e-admin-token-0123456789";
export const WORKSPACE_ID = "0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f";

export interface Proc {
  child: Child;
  port: number;
  /** Stops with `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

async function started(child: Child, what: string, pattern: RegExp, timeoutMs = 30_000): Promise<number> {
  await until(() => pattern.test(child.stderr()) || child.proc.exitCode !== null, { what: `${what} to start`, timeoutMs });
  const port = Number(pattern.exec(child.stderr())?.[1]);
  if (!port) throw new Error(`${what} did not start (exit ${child.proc.exitCode}):\n${child.stderr()}`);
  return port;
}

function proc(child: Child, port: number): Proc {
  return {
    child,
    port,
    stop: async (signal = "SIGTERM") => {
      child.kill(signal);
      return child.exited;
    },
  };
}

export interface CoderdPaths {
  dir: string;
  db: string;
  agentsFile: string;
}

export function coderdPaths(dir: string): CoderdPaths {
  const agentsFile = join(dir, "agents.yaml");
  writeFileSync(
    agentsFile,
    `agents:\n  - token: "${AGENT_TOKEN}"\n    workspace_id: ${WORKSPACE_ID}\n    workspace_name: e2e-ws\n    owner_name: e2e\n`,
  );
  return { dir, db: join(dir, "coderd.db"), agentsFile };
}

/** `boundary-relay coderd` on 127.0.0.1:`port` (0 = any). */
export async function startCoderd(paths: CoderdPaths, port = 0): Promise<Proc> {
  const child = startBinary([
    "coderd", "--agents-file", paths.agentsFile, "--db", `sqlite:${paths.db}`, "--admin-token", ADMIN_TOKEN,
    "--http-listen", `127.0.0.1:${port}`,
  ]);
  return proc(child, await started(child, "coderd", /listening on https?:\/\/127\.0\.0\.1:(\d+)/));
}

export interface AgentPaths {
  socket: string;
  spoolDir: string;
}

/** `boundary-relay agent --output coderd` on `paths`, forwarding to coderd at `coderdPort`. */
export async function startAgent(paths: AgentPaths, coderdPort: number, extra: string[] = []): Promise<Proc> {
  const child = startBinary(
    [
      "agent", "--socket", paths.socket, "--spool-dir", paths.spoolDir, "--http-listen", "127.0.0.1:0",
      "--output", "coderd", "--coderd-url", `http://127.0.0.1:${coderdPort}`, "--agent-token", AGENT_TOKEN, ...extra,
    ],
    { HOME: paths.spoolDir, TMPDIR: paths.spoolDir },
  );
  return proc(child, await started(child, "agent", /http http:\/\/127\.0\.0\.1:(\d+)/));
}

// ------------------------------------------------------------ metrics

// The readers of test/helpers/metrics.ts, bound to a loopback port and to
// series written as Prometheus prints them (`name{label="v"}`).

export type Metrics = Sample[];

/** One scrape of http://127.0.0.1:PORT/metrics. */
export function scrape(port: number): Promise<Metrics> {
  return scrapeMetrics(`http://127.0.0.1:${port}`);
}

/** The value of `series` (summed over labels it leaves out); throws when the scrape does not have it (a renamed metric must fail loudly). */
export function metric(m: Metrics, series: string): number {
  const { name, labels } = parseSeries(series);
  return valueOf(m, name, labels);
}

export const A = "agent_boundary_log_proxy_";
export const agentDrop = (reason: string) => `${A}logs_dropped_total{reason="${reason}"}`;

// ------------------------------------------------------------ the store

export const keyOf = (sessionId: string, seq: number) => `${sessionId}/${seq}`;

/** (session_id/sequence_number) → how many rows the store holds for it. */
export function storedCounts(db: string): Map<string, number> {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn
      .query(
        `SELECT s.session_id AS sid, l.sequence_number AS seq, COUNT(*) AS n
           FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref GROUP BY s.session_id, l.sequence_number`,
      )
      .all() as Array<{ sid: string; seq: number; n: number }>;
    return new Map(rows.map((r) => [keyOf(r.sid, r.seq), r.n]));
  } finally {
    conn.close();
  }
}

/** Rows in boundary_logs (0 before coderd created the schema). */
export function storedRows(db: string): number {
  if (!existsSync(db)) return 0;
  const conn = new Database(db, { readonly: true });
  try {
    return (conn.query("SELECT COUNT(*) AS n FROM boundary_logs").get() as { n: number }).n;
  } catch {
    return 0;
  } finally {
    conn.close();
  }
}

/** (session_id/sequence_number) of each boundary_request line coderd wrote, with how often. */
export function emittedCounts(stderr: string): Map<string, number> {
  const out = new Map<string, number>();
  // Only whole lines: a running coderd's output may end inside a line it is still writing.
  const lines = stderr.split("\n");
  lines.pop();
  for (const line of lines) {
    if (!line.includes(" boundary_request ")) continue;
    const m = / session_id=(\S+) sequence_number=(\d+) /.exec(line);
    if (!m) throw new Error(`boundary_request line without session_id/sequence_number: ${line}`);
    const key = keyOf(m[1]!, Number(m[2]));
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

export function spoolSegmentFiles(spoolDir: string): string[] {
  return existsSync(spoolDir) ? readdirSync(spoolDir).filter((n) => !n.startsWith(".")) : [];
}

// ------------------------------------------------------------ the clients

/** One record the client wrote to the socket, and when that write started. */
export interface WrittenRecord {
  key: string;
  sessionId: string;
  seq: number;
  writeStartedAt: number;
}

/** Everything the clients wrote, in write order. */
export class Ledger {
  readonly written: WrittenRecord[] = [];
  readonly keys = new Set<string>();

  record(sessionId: string, logs: readonly BoundaryLog[], writeStartedAt: number): void {
    for (const log of logs) {
      const key = keyOf(sessionId, log.sequenceNumber);
      if (this.keys.has(key)) throw new Error(`client wrote ${key} twice`);
      this.keys.add(key);
      this.written.push({ key, sessionId, seq: log.sequenceNumber, writeStartedAt });
    }
  }
}

export interface PacedSessions {
  clients: BoundaryClient[];
  /** Stops producing, flushes and closes every client; resolves with the records none could deliver. */
  stop(): Promise<number>;
}

/**
 * `sessions` boundary clients sending demo records at `rate` records/s in
 * total until stop(). Each frame written is entered in `ledger`. Like
 * boundary, a client keeps a batch whose write failed and retries it every
 * `flushInterval`, dropping (and later reporting) records while it is full.
 */
export function startSessions(opts: { socket: string; sessions: number; rate: number; ledger: Ledger; flushInterval?: number }): PacedSessions {
  const samples: ClientRecord[] = demoRecords();
  let running = true;
  const clients = Array.from({ length: opts.sessions }, () => {
    const client: BoundaryClient = new BoundaryClient({
      socketPath: opts.socket,
      flushInterval: opts.flushInterval ?? 250,
      onWritten: (logs, at) => opts.ledger.record(client.sessionId, logs, at),
    });
    return client;
  });
  const perSession = opts.rate / opts.sessions;
  const loops = clients.map(async (client, c) => {
    const start = performance.now();
    for (let i = 0; running; i++) {
      const ahead = start + (i * 1000) / perSession - performance.now();
      if (ahead > 4) await new Promise((r) => setTimeout(r, ahead));
      if (!running) break;
      await client.send(samples[(i + c) % samples.length]!);
    }
  });
  return {
    clients,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      const unsent = await Promise.all(clients.map((c) => c.close(30_000)));
      return unsent.reduce((a, b) => a + b, 0);
    },
  };
}

// ------------------------------------------------------------ hostile-input helpers (socket faults)

/**
 * `boundary-relay agent` with exactly `args` after `agent` (any --output),
 * on 127.0.0.1:0 for HTTP unless `args` set --http-listen.
 */
export async function startAgentWith(args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const listen = args.includes("--http-listen") ? [] : ["--http-listen", "127.0.0.1:0"];
  const child = startBinary(["agent", ...listen, ...args], env);
  return proc(child, await started(child, "agent", /http http:\/\/127\.0\.0\.1:(\d+)/));
}

/** HTTP status of the agent's (or coderd's) /readyz, and its body. */
export async function readyz(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: await res.text() };
}

/** Resident set size of `pid` in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** `frames` tag-2 frames of `perFrame` distinct records each for `sessionId`, sequence numbers from `firstSeq`, back to back. */
export function logsFrames(sessionId: string, firstSeq: number, frames: number, perFrame: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const seq0 = firstSeq + f * perFrame;
    const logs = Array.from({ length: perFrame }, (_, i) =>
      create(BoundaryLogSchema, {
        allowed: (seq0 + i) % 3 !== 0,
        time: { seconds: 1765227526n + BigInt(seq0 + i), nanos: 5 },
        sequenceNumber: seq0 + i,
        resource: { case: "httpRequest", value: { method: "GET", url: `https://registry.npmjs.org/pkg-${(seq0 + i) % 97}` } },
      }),
    );
    parts.push(encodeLogsFrame(create(ReportBoundaryLogsRequestSchema, { sessionId, confinedProcessName: "claude", logs })));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** A connected Unix-socket client; writing to it, resolving when the socket took the bytes. */
export { connect as connectUnix, write as writeBytes } from "../helpers/agent.ts";

/** Resolves once `socket` closed (by either side). */
export function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.on("error", () => {});
    socket.once("close", () => resolve());
  });
}

// ------------------------------------------------------------ one-shot commands

/** Runs the binary under test to completion: exit code, stdout, stderr. */
export async function runBinary(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startBinary(args, env);
  child.proc.stdin.end();
  const code = await child.exited;
  await new Promise<void>((resolve) => (child.proc.stderr.readableEnded ? resolve() : child.proc.stderr.once("end", () => resolve())));
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** Starts the binary under test (e.g. `agent`) as a long-running child. */
export function startBinaryChild(args: string[], env: Record<string, string> = {}): Child {
  return startBinary(args, env);
}

// ------------------------------------------------------------ coderd with flags (hostile tests)

/** `boundary-relay coderd` like startCoderd, with extra flags (e.g. `--log-format json`). */
export async function startCoderdWith(paths: CoderdPaths, extra: string[], port = 0): Promise<Proc> {
  const child = startBinary([
    "coderd", "--agents-file", paths.agentsFile, "--db", `sqlite:${paths.db}`, "--admin-token", ADMIN_TOKEN,
    "--http-listen", `127.0.0.1:${port}`, ...extra,
  ]);
  return proc(child, await started(child, "coderd", /listening on https?:\/\/127\.0\.0\.1:(\d+)/));
}

