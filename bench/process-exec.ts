// `npm run bench:process` (root, Linux, after `npm run build`): how many
// execs per second the compiled agent's --process-log captures with no
// loss, and the agent's CPU per exec. The agent writes exec lines to a file
// (--output stdout); generators spawn a tiny static program (built with cc
// when there is one, else /bin/true from sh loops) at full speed, 1, 2 and
// 4 at a time. Per step it prints: execs generated and their rate, execs
// found on stdout with their exact argv, truncated records, kernel overruns
// (agent_process_events_lost_total) and agent CPU (µs per exec).
//   --execs N   execs per generator per step (default 3000)
import { spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, cpuSeconds, freePort, metric, start, waitReady } from "./lib/proc.ts";
import { machine } from "./lib/report.ts";

const args = process.argv.slice(2);
const EXECS = args.includes("--execs") ? Number(args[args.indexOf("--execs") + 1]) : 3000;
const PARALLEL = [1, 2, 4];

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

async function main(): Promise<void> {
  const gen = generator();
  const port = await freePort();
  const outPath = join(dir, "agent.out");
  const out = openSync(outPath, "w");
  const agent = start(BINARY, ["agent", "--process-log", "on", "--output", "stdout", "--socket", join(dir, "a.sock"), "--http-listen", `127.0.0.1:${port}`], ["ignore", out, "inherit"]);
  try {
    await waitReady(port, agent);
    console.log(`process exec bench on ${JSON.stringify(machine())}; generator: ${gen.kind}; ${EXECS} execs per generator`);
    console.log("generators | execs | generated/s | with argv | truncated | lost overruns | agent CPU µs/exec");
    for (const [step, parallel] of PARALLEL.entries()) {
      const lost0 = await metric(port, "agent_process_events_lost_total");
      const trunc0 = await metric(port, 'agent_process_events_total{result="truncated"}');
      const cpu0 = cpuSeconds(agent.pid);
      const t0 = performance.now();
      const procs = Array.from({ length: parallel }, (_, p) => Bun.spawn(gen.command(`s${step}p${p}`, EXECS), { stdout: "ignore", stderr: "inherit" }));
      for (const p of procs) if ((await p.exited) !== 0) throw new Error("generator failed");
      const seconds = (performance.now() - t0) / 1000;
      // Events arrive in order: once a marker exec is on stdout, every exec before it was handled.
      const marker = Bun.spawn(["sh", "-c", "sleep 0.3; :", `bench-marker-${step}`]);
      await marker.exited;
      const deadline = Date.now() + 120_000;
      while (!readFileSync(outPath, "utf8").includes(`"bench-marker-${step}"`)) {
        if (Date.now() > deadline) throw new Error("the marker exec never reached stdout");
        await Bun.sleep(50);
      }
      const cpu = cpuSeconds(agent.pid) - cpu0;
      const text = readFileSync(outPath, "utf8");
      const withArgv = text.match(new RegExp(`"argv":\\["[^"]*","bench-exec","s${step}p\\d+-\\d+"\\]`, "g"))?.length ?? 0;
      const generated = parallel * EXECS;
      const lost = (await metric(port, "agent_process_events_lost_total")) - lost0;
      const truncated = (await metric(port, 'agent_process_events_total{result="truncated"}')) - trunc0;
      console.log(
        `${parallel} | ${generated} | ${Math.round(generated / seconds)} | ${withArgv} (${((100 * withArgv) / generated).toFixed(2)}%) | ${truncated} | ${lost} | ${((cpu * 1e6) / generated).toFixed(0)}`,
      );
    }
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
