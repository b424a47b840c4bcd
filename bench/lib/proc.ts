// Child processes for the bench: start the compiled binary (agent, coderd)
// or a bench script, wait for /readyz, read Prometheus counters, and watch
// a pid's CPU (utime+stime from /proc/<pid>/stat) and memory (VmRSS and
// VmHWM from /proc/<pid>/status).
import { type ChildProcess, spawn, type StdioOptions } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

export const BINARY = process.env.BENCH_BINARY ?? "dist/boundary-relay";
const CLK_TCK = 100; // Linux USER_HZ
const READY_TIMEOUT_MS = 30_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

export function start(command: string, args: string[], stdio: StdioOptions = ["ignore", "ignore", "inherit"]): Proc {
  const child = spawn(command, args, { stdio });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once("exit", () => resolve());
  });
  return {
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls http://127.0.0.1:port/readyz until 200 (or `status`), failing if `proc` exits. */
export async function waitReady(port: number, proc: Proc, path = "/readyz"): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`process ${proc.pid} exited with ${proc.child.exitCode} before ${path}`);
    const ok = await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status === 200, () => false);
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`127.0.0.1:${port}${path} not 200 within ${READY_TIMEOUT_MS} ms`);
}

/** Sum over all label sets of a counter/gauge on http://127.0.0.1:port/metrics. */
export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Polls `read` until it reaches `target`; returns when (ms, performance.now()) it did. */
export async function waitForCount(read: () => Promise<number>, target: number, timeoutMs: number, what: string): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let last = 0;
  while (performance.now() < deadline) {
    last = await read();
    if (last >= target) return performance.now();
    await sleep(20); // scraping /metrics costs the agent CPU: not too often
  }
  throw new Error(`${what}: ${last} of ${target} within ${timeoutMs} ms`);
}

/** CPU time the process used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from #3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // #14 utime, #15 stime
}

export interface Memory {
  rssMiB: number;
  hwmMiB: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

/** Samples VmRSS every `everyMs` while running; peak() is the highest seen (and VmHWM). */
export function watchMemory(pid: number, everyMs = 50): { peakMiB(): number; stop(): void } {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, memory(pid).rssMiB);
    } catch {
      // exited
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return { peakMiB: () => (sample(), peak), stop: () => clearInterval(timer) };
}

/** Waits for a line on a child's stdout that satisfies `match`. */
export function waitForLine(child: ChildProcess, match: (line: string) => boolean, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`no expected line from ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (match(line)) {
          clearTimeout(timer);
          child.stdout!.off("data", onData);
          resolve(line);
          return;
        }
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${child.pid} exited with ${code} before the expected line`)));
  });
}

/**
 * For a load generator that waits for a line on stdin: sends it, waits for
 * the JSON line it prints when done, stops it and returns that JSON.
 */
export async function goAndWaitForResult<T>(proc: Proc): Promise<T> {
  const done = waitForLine(proc.child, (l) => l.startsWith("{"), 600_000);
  proc.child.stdin!.write("go\n");
  const result = JSON.parse(await done) as T;
  await proc.stop();
  return result;
}
