// Cold start of the compiled binary: wall time from spawning it until it
// is done starting. Mode "version" waits for `boundary-relay version` to
// exit; mode "readyz" starts `boundary-relay agent` and waits for its
// /readyz to answer 200 (switch to it once the agent exists).
//
//   bun bench/cold-start.ts [--mode version|readyz] [--runs N] [BINARY]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type ColdStartMode = "version" | "readyz";

export interface ColdStartResult {
  mode: ColdStartMode;
  runs: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
}

const READY_TIMEOUT_MS = 30_000;

/** Runs the binary `runs` times (plus one unmeasured warm-up of the page cache). */
export async function measureColdStart(binary: string, mode: ColdStartMode = "version", runs = 5): Promise<ColdStartResult> {
  const once = mode === "version" ? () => timeVersion(binary) : () => timeReadyz(binary);
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return { mode, runs, minMs: times[0]!, medianMs: times[Math.floor(times.length / 2)]!, maxMs: times[times.length - 1]! };
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function timeVersion(binary: string): Promise<number> {
  const start = performance.now();
  const code = await exitOf(spawn(binary, ["version"], { stdio: "ignore" }));
  const elapsed = performance.now() - start;
  if (code !== 0) throw new Error(`${binary} version exited with ${code}`);
  return elapsed;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function timeReadyz(binary: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "cold-start-"));
  const port = await freePort();
  const args = ["agent", "--socket", join(dir, "audit.sock"), "--http-listen", `127.0.0.1:${port}`, "--output", "discard", "--spool-dir", join(dir, "spool")];
  const start = performance.now();
  const child = spawn(binary, args, { stdio: "ignore" });
  const exited = exitOf(child);
  try {
    while (performance.now() - start < READY_TIMEOUT_MS) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
      if (ready) return performance.now() - start;
      if (child.exitCode !== null) throw new Error(`${binary} agent exited with ${child.exitCode} before /readyz`);
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`${binary} agent: /readyz not 200 within ${READY_TIMEOUT_MS} ms`);
  } finally {
    child.kill("SIGTERM");
    await exited.catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatColdStart(r: ColdStartResult): string {
  const what = r.mode === "version" ? "spawn → exit of `version`" : "spawn → /readyz 200 of `agent`";
  return `cold start (${what}, ${r.runs} runs): median ${r.medianMs.toFixed(1)} ms, min ${r.minMs.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms`;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  let mode: ColdStartMode = "version";
  let runs = 5;
  let binary = "dist/boundary-relay";
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--mode") mode = argv[++i] as ColdStartMode;
    else if (argv[i] === "--runs") runs = Number(argv[++i]);
    else binary = argv[i]!;
  }
  if (mode !== "version" && mode !== "readyz") throw new Error(`--mode must be version or readyz, not ${mode}`);
  console.log(formatColdStart(await measureColdStart(binary, mode, runs)));
}
