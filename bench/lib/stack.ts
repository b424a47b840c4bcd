// Starts the compiled binary's two roles for a bench run, each in its own
// temp dir: an agent on a Unix socket (any --output) and a coderd with an
// agents file and a SQLite store, whose stderr (the boundary_request lines)
// goes to a file, /dev/null, or a pipe the bench reads. Also runs the
// bench writer (bench/writer.ts) as its own process.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, freePort, goAndWaitForResult, metric, type Proc, start, waitForLine, waitReady } from "./proc.ts";

export const TOKEN = "bench-agent-token-0123456789abcdef";
export const RECEIVED = "agent_boundary_log_proxy_records_received_total";
export const FORWARDED = "agent_boundary_log_proxy_records_forwarded_total";
export const REQUESTS_FORWARDED = "agent_boundary_log_proxy_batches_forwarded_total";
export const INGESTED = "coderd_boundary_records_ingested_total";

export interface Running {
  proc: Proc;
  port: number;
  dir: string;
  /** Stops the process and removes its temp dir. */
  close(): Promise<void>;
}

export interface RunningAgent extends Running {
  socket: string;
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `args` may depend on the agent's temp dir (e.g. its spool). */
export async function startAgent(args: string[] | ((dir: string) => string[]), dir = tempDir("bench-agent-")): Promise<RunningAgent> {
  const port = await freePort();
  const socket = join(dir, "audit.sock");
  const extra = typeof args === "function" ? args(dir) : args;
  const proc = start(BINARY, ["agent", "--socket", socket, "--http-listen", `127.0.0.1:${port}`, ...extra]);
  try {
    await waitReady(port, proc, "/healthz");
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, port, dir, socket, close: async () => (await proc.stop(), rmSync(dir, { recursive: true, force: true })) };
}

export interface RunningCoderd extends Running {
  url: string;
}

/**
 * stderr: a file path, "null" (/dev/null) or "pipe" (read proc.child.stderr).
 * `db`: the --db to use (an SQLite file seeded beforehand as sqlite:PATH, or
 * postgres://…) instead of a new SQLite file in the temp dir.
 */
export async function startCoderd(stderr: string, extra: string[] = [], db?: string): Promise<RunningCoderd> {
  const dir = tempDir("bench-coderd-");
  const agents = join(dir, "agents.yaml");
  writeFileSync(agents, `agents:\n  - token: "${TOKEN}"\n    workspace_id: 0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f\n    workspace_name: bench\n    owner_name: bench\n`);
  const port = await freePort();
  const fd = stderr === "pipe" ? "pipe" : openSync(stderr === "null" ? "/dev/null" : stderr, "a");
  const args = ["coderd", "--agents-file", agents, "--db", db ?? `sqlite:${join(dir, "coderd.db")}`, "--http-listen", `127.0.0.1:${port}`, ...extra];
  const proc = start(BINARY, args, ["ignore", "ignore", fd]);
  if (typeof fd === "number") closeSync(fd);
  await waitReady(port, proc);
  return { proc, port, dir, url: `http://127.0.0.1:${port}`, close: async () => (await proc.stop(), rmSync(dir, { recursive: true, force: true })) };
}

/** Agent args for --output coderd to `url`, the spool in the agent's dir. */
export function coderdOutputArgs(url: string, extra: string[] = []): (dir: string) => string[] {
  return (dir) => ["--output", "coderd", "--coderd-url", url, "--agent-token", TOKEN, "--spool-dir", join(dir, "spool"), ...extra];
}

export interface Writer {
  proc: Proc;
  /** Records it will write in total. */
  records: number;
  /** Starts writing; resolves with the writer's own figures when it wrote everything. */
  go(): Promise<{ sent: number; elapsedMs: number }>;
}

/** Starts bench/writer.ts and waits until it encoded its frames and connected. */
export async function startWriter(socket: string, args: string[]): Promise<Writer> {
  const proc = start(process.execPath, [join(import.meta.dir, "..", "writer.ts"), "--socket", socket, ...args], ["pipe", "pipe", "inherit"]);
  const ready = await waitForLine(proc.child, (l) => l.startsWith("ready "));
  return {
    proc,
    records: Number(ready.split(" ")[1]),
    go: () => goAndWaitForResult(proc),
  };
}

export const counter = (port: number, name: string) => () => metric(port, name);
