// `npm run bench:process` (root, Linux, after `npm run build`): how many
// execs per second the compiled agent's --process-log captures with no
// loss, and the agent's CPU per exec. The agent writes exec lines to a file
// (--output stdout, the default); generators spawn a tiny static program (built with cc
// when there is one, else /bin/true from sh loops) at full speed, 1, 2 and
// 4 at a time. Per step it prints: execs generated and their rate, execs
// found on stdout with their exact argv, truncated records, kernel overruns
// (agent_process_events_lost_total) and agent CPU (µs per exec).
// With --output coderd the agent sends them through its exec spool to a
// compiled coderd, and the execs are counted from coderd's query API;
// coderd's CPU per exec is printed too.
//   --execs N          execs per generator per step (default 3000)
//   --output stdout|coderd   (default stdout)
import { spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, cpuSeconds, freePort, metric, start, waitReady } from "./lib/proc.ts";
import { machine } from "./lib/report.ts";

const args = process.argv.slice(2);
const EXECS = args.includes("--execs") ? Number(args[args.indexOf("--execs") + 1]) : 3000;
const PARALLEL = [1, 2, 4];
const OUTPUT = args.includes("--output") ? args[args.indexOf("--output") + 1] : "stdout";
if (OUTPUT !== "stdout" && OUTPUT !== "coderd") throw new Error("--output is stdout or coderd");

if (process.getuid?.() !== 0) throw new Error("bench/process-exec.ts needs root (the kernel proc connector)");
const dir = mkdtempSync(join(tmpdir(), "bench-process-"));

/** A generator command running `n` execs tagged `tag-<i>`: a C spawner of a static no-op when cc exists, else sh. */
function generator(): { kind: string; command: (tag: string, n: number) => string[] } {
  writeFileSync(join(dir, "noop.c"), "int main(void){return 0;}\n");
  writeFileSync(
    join(dir, "spawner.c"),
    `#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
extern char **environ;
int main(int argc, char **argv) {
  long n = atol(argv[3]); char arg[64];
  for (long i = 0; i < n; i++) {
    snprintf(arg, sizeof arg, "%s-%ld", argv[2], i);
    char *a[] = { argv[1], "bench-exec", arg, NULL };
    pid_t pid;
    if (posix_spawn(&pid, argv[1], NULL, NULL, a, environ) != 0) { perror("posix_spawn"); return 1; }
    waitpid(pid, NULL, 0);
  }
  return 0;
}
`,
  );
  const noop = spawnSync("cc", ["-O2", "-static", "-o", join(dir, "noop"), join(dir, "noop.c")]);
  const spawner = spawnSync("cc", ["-O2", "-o", join(dir, "spawner"), join(dir, "spawner.c")]);
  if (noop.status === 0 && spawner.status === 0) {
    return { kind: "posix_spawn of a static no-op (cc)", command: (tag, n) => [join(dir, "spawner"), join(dir, "noop"), tag, String(n)] };
  }
  return {
    kind: "sh loop of /bin/true (no cc)",
    command: (tag, n) => ["sh", "-c", `i=0; while [ $i -lt ${n} ]; do /bin/true bench-exec ${tag}-$i; i=$((i+1)); done`],
  };
}

/** Where the agent sends exec records, and how the bench reads back what arrived. */
interface Sink {
  agentArgs: string[];
  /** How many execs of `step` arrived with their exact argv, once the step's marker arrived. */
  arrived(step: number): Promise<number>;
  /** Extra processes whose CPU counts (coderd). */
  cpuPids: number[];
  stop(): Promise<void>;
}

const ADMIN = "bench-admin-token-0123456789";
const TOKEN = "bench-agent-token-0123456789";

/** --output stdout: the agent writes exec lines to a file; the bench greps it. */
function stdoutSink(): Sink & { stdio: number } {
  const outPath = join(dir, "agent.out");
  const read = () => readFileSync(outPath, "utf8");
  return {
    agentArgs: ["--output", "stdout"],
    stdio: openSync(outPath, "w"),
    cpuPids: [],
    async arrived(step) {
      await until(() => read().includes(`"bench-marker-${step}"`), "the marker exec on stdout");
      return read().match(new RegExp(`"argv":\\["[^"]*","bench-exec","s${step}p\\d+-\\d+"\\]`, "g"))?.length ?? 0;
    },
    stop: async () => {},
  };
}

/** --output coderd: exec spool, forwarder and a compiled coderd; the bench pages its query API. */
async function coderdSink(): Promise<Sink> {
  const port = await freePort();
  const agents = join(dir, "agents.yaml");
  writeFileSync(agents, `agents:\n  - token: "${TOKEN}"\n    workspace_id: 0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f\n    workspace_name: bench\n    owner_name: bench\n`);
  const coderd = start(BINARY, ["coderd", "--agents-file", agents, "--db", `sqlite:${join(dir, "coderd.db")}`, "--admin-token", ADMIN, "--http-listen", `127.0.0.1:${port}`], ["ignore", "ignore", "ignore"]);
  await waitReady(port, coderd);
  const execs = async (query: Record<string, string>): Promise<{ argv: string[] }[]> => {
    const all: { argv: string[] }[] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ ...query, limit: "1000", ...(cursor ? { cursor } : {}) });
      const res = await fetch(`http://127.0.0.1:${port}/api/v2/process/logs?${q}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
      const page = (await res.json()) as { execs: { argv: string[] }[]; next_cursor: string | null };
      all.push(...page.execs);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  };
  const since = new Date(Date.now() - 1000).toISOString();
  return {
    agentArgs: ["--output", "coderd", "--coderd-url", `http://127.0.0.1:${port}`, "--agent-token", TOKEN, "--spool-dir", join(dir, "spool")],
    cpuPids: [coderd.pid],
    async arrived(step) {
      // The marker is among the newest execs (newest first; one page, no paging).
      const newest = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v2/process/logs?limit=100`, { headers: { Authorization: `Bearer ${ADMIN}` } });
        return ((await res.json()) as { execs: { argv: string[] }[] }).execs;
      };
      const marker = async () => (await newest()).some((e) => e.argv.includes(`bench-marker-${step}`));
      await untilAsync(marker, "the marker exec in coderd");
      const tag = new RegExp(`^s${step}p\\d+-\\d+$`);
      return (await execs({ command: "noop", since })).filter((e) => e.argv[1] === "bench-exec" && tag.test(e.argv[2] ?? "")).length;
    },
    stop: () => coderd.stop(),
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  await untilAsync(async () => check(), what);
}

async function untilAsync(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} never came`);
    await Bun.sleep(50);
  }
}

async function main(): Promise<void> {
  const gen = generator();
  const port = await freePort();
  const sink = OUTPUT === "coderd" ? await coderdSink() : stdoutSink();
  const stdio = "stdio" in sink ? (sink.stdio as number) : "ignore";
  const agent = start(BINARY, ["agent", "--process-log", "on", ...sink.agentArgs, "--socket", join(dir, "a.sock"), "--http-listen", `127.0.0.1:${port}`], ["ignore", stdio, "inherit"]);
  const cpuOf = () => [agent.pid, ...sink.cpuPids].map(cpuSeconds);
  try {
    await waitReady(port, agent);
    console.log(`process exec bench on ${JSON.stringify(machine())}; --output ${OUTPUT}; generator: ${gen.kind}; ${EXECS} execs per generator`);
    console.log(`generators | execs | generated/s | with argv | truncated | lost overruns | dropped | agent CPU µs/exec${OUTPUT === "coderd" ? " | coderd CPU µs/exec" : ""}`);
    for (const [step, parallel] of PARALLEL.entries()) {
      const lost0 = await metric(port, "agent_process_events_lost_total");
      const trunc0 = await metric(port, 'agent_process_events_total{result="truncated"}');
      const dropped0 = await metric(port, "agent_process_events_dropped_total");
      const cpu0 = cpuOf();
      const t0 = performance.now();
      const procs = Array.from({ length: parallel }, (_, p) => Bun.spawn(gen.command(`s${step}p${p}`, EXECS), { stdout: "ignore", stderr: "inherit" }));
      for (const p of procs) if ((await p.exited) !== 0) throw new Error("generator failed");
      const seconds = (performance.now() - t0) / 1000;
      // Events arrive (and are spooled and sent) in order: once a marker exec arrived, every exec before it did.
      const marker = Bun.spawn(["sh", "-c", "sleep 0.3; :", `bench-marker-${step}`]);
      await marker.exited;
      const withArgv = await sink.arrived(step);
      const cpu = cpuOf().map((c, i) => c - cpu0[i]!);
      const generated = parallel * EXECS;
      const lost = (await metric(port, "agent_process_events_lost_total")) - lost0;
      const truncated = (await metric(port, 'agent_process_events_total{result="truncated"}')) - trunc0;
      const dropped = (await metric(port, "agent_process_events_dropped_total")) - dropped0;
      const perExec = (c: number) => ((c * 1e6) / generated).toFixed(0);
      console.log(
        `${parallel} | ${generated} | ${Math.round(generated / seconds)} | ${withArgv} (${((100 * withArgv) / generated).toFixed(2)}%) | ${truncated} | ${lost} | ${dropped} | ${cpu.map(perExec).join(" | ")}`,
      );
    }
  } finally {
    await agent.stop();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
