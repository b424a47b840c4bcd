// The agent's --process-log wiring, in process (root: the kernel proc
// connector; CI runs as root): exec lines on --output stdout, exec records
// through their own spool to a real coderd on --output coderd (kept across
// a coderd outage and an agent restart), and the metrics present at 0.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { registryMetric } from "../helpers/metrics.ts";
import { tempDir } from "../helpers/temp.ts";
import { ADMIN, AGENT_A, startTestServer } from "../coderd/helpers.ts";

let agent: TestAgent | null = null;
afterEach(async () => {
  await agent?.close();
  agent = null;
});

const value = (a: TestAgent, name: string, labels: Record<string, string> = {}) => registryMetric(a.metrics.registry, name, labels);

/** sh that stays sh (two commands: it forks for sleep) for 0.2 s: long enough to be read whole. */
async function runSleep(...args: string[]): Promise<number> {
  const p = Bun.spawn(["sh", "-c", "sleep 0.2; :", "sh", ...args]);
  await p.exited;
  return p.pid;
}

describe("agent --process-log", () => {
  test("off (the default): metrics present at 0, no source", async () => {
    agent = await startTestAgent();
    expect(agent.processLog).toBeNull();
    const text = await agent.metrics.registry.metrics();
    expect(text).toContain('agent_process_events_total{result="complete"} 0');
    expect(text).toContain('agent_process_events_total{result="truncated"} 0');
    expect(text).toContain("agent_process_events_lost_total 0");
    expect(text).toContain('agent_process_events_dropped_total{reason="spool_full"} 0');
    expect(text).toContain('agent_process_events_dropped_total{reason="shutdown"} 0');
    expect(text).toContain("agent_process_records_forwarded_total 0");
    expect(text).toContain("agent_process_spool_bytes 0");
  });

  test("on, --output stdout: an exec is one WIRE.md §6 line, counted complete", async () => {
    if (process.getuid?.() !== 0) throw new Error("needs root (CI runs as root)");
    agent = await startTestAgent(["--process-log", "on"]);
    expect(agent.warnings.join("\n")).toContain("process logging on: the agent's PID namespace");
    const pid = await runSleep("marker-arg");
    await until(() => agent!.stdout.lines.some((l) => l.includes(`"pid":${pid},`)), { what: "the exec line" });
    const line = JSON.parse(agent.stdout.lines.find((l) => l.includes(`"pid":${pid},`))!);
    expect(Object.keys(line)).toEqual(["ts", "level", "msg", "fields"]);
    expect(Object.keys(line.fields)).toEqual(["labels", "cmdline", "event"]);
    expect(line.fields.cmdline).toBe("sh -c sleep 0.2; : sh marker-arg");
    expect(line.fields.event).toMatchObject({ argv: ["sh", "-c", "sleep 0.2; :", "sh", "marker-arg"], truncated: false, pid, ppid: process.pid, comm: "sh" });
    expect(await value(agent, "agent_process_events_total", { result: "complete" })).toBeGreaterThanOrEqual(1);
  });

  // Restarted with process logging on, and off: what the exec spool holds is delivered either way.
  for (const restartWith of ["on", "off"] as const) test(`on, --output coderd: execs wait in <spool-dir>/exec/ while coderd is away, and reach it after a restart with --process-log ${restartWith}`, async () => {
    if (process.getuid?.() !== 0) throw new Error("needs root (CI runs as root)");
    const spool = tempDir("pl-spool-");
    const coderdArgs = (url: string, mode: "on" | "off" = "on") => [
      "--process-log", mode, "--output", "coderd", "--coderd-url", url, "--agent-token", AGENT_A.token, "--spool-dir", spool.dir,
      "--retry-initial", "50ms", "--retry-max", "200ms", "--shutdown-timeout", "1s",
    ];
    try {
      // coderd away: the exec is spooled, not dropped.
      agent = await startTestAgent(coderdArgs("http://127.0.0.1:9"));
      const pid = await runSleep("while-coderd-is-away");
      await until(async () => (await value(agent!, "agent_process_spool_bytes")) > 0, { what: "the exec spooled" });
      expect(readdirSync(join(spool.dir, "exec")).some((f) => f.endsWith(".spool"))).toBe(true);
      expect(await value(agent, "agent_process_events_dropped_total")).toBe(0);
      await agent.close();
      agent = null;
      // coderd up, agent restarted on the same spool: the exec reaches coderd once.
      const coderd = await startTestServer();
      try {
        agent = await startTestAgent(coderdArgs(coderd.server.url, restartWith));
        expect(agent.processLog === null).toBe(restartWith === "off");
        const query = `${coderd.server.url}/api/v2/process/logs?workspace_id=${AGENT_A.entry.workspace_id}&limit=1000`;
        const ours = async () => {
          const res = await fetch(query, { headers: { Authorization: `Bearer ${ADMIN}` } });
          const body = (await res.json()) as { execs: { pid: number; argv: string[]; workspace_name: string }[] };
          return body.execs.filter((e) => e.pid === pid);
        };
        await until(async () => (await ours()).length > 0, { what: "the spooled exec in coderd" });
        expect((await ours())[0]).toMatchObject({ argv: ["sh", "-c", "sleep 0.2; :", "sh", "while-coderd-is-away"], workspace_name: "alice-dev" });
        expect(await value(agent, "agent_process_records_forwarded_total")).toBeGreaterThanOrEqual(1);
        await until(async () => (await value(agent!, "agent_process_spool_bytes")) === 0, { what: "the exec spool emptied", timeoutMs: 5_000 });
        expect(existsSync(join(spool.dir, "quarantine"))).toBe(false);
      } finally {
        await agent?.close();
        agent = null;
        await coderd.close();
      }
    } finally {
      spool.cleanup();
    }
  }, 30_000);
});

describe("agent --process-log-cgroup", () => {
  test("a path that does not start with / is a configuration error naming the field", async () => {
    let err: unknown;
    try {
      agent = await startTestAgent(["--process-log", "on", "--process-log-cgroup", "kubepods/pod1"]);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toContain("process_log_cgroup (from --process-log-cgroup): must be a cgroup path starting with /");
  });

  test("on with a cgroup: only processes in it are recorded", async () => {
    if (process.getuid?.() !== 0) throw new Error("needs root (CI runs as root)");
    const own = (await Bun.file("/proc/self/cgroup").text()).trim().split("::")[1]!;
    agent = await startTestAgent(["--process-log", "on", "--process-log-cgroup", `${own}-elsewhere`]);
    expect(agent.warnings.join("\n")).toContain(`process logging on: cgroup ${own}-elsewhere`);
    await runSleep("outside-the-cgroup");
    // A marker in no cgroup we record cannot be waited for: wait on the kernel instead, through a second agent scoped to our cgroup.
    const inside = await startTestAgent(["--process-log", "on", "--process-log-cgroup", own]);
    try {
      const pid = await runSleep("inside-the-cgroup");
      await until(() => inside.stdout.lines.some((l) => l.includes(`"pid":${pid},`)), { what: "the in-scope agent to record it" });
      await Bun.sleep(300); // an absence: both agents got the same kernel events; this bound can only make the test pass wrongly, never fail wrongly
      expect(agent.stdout.lines.filter((l) => l.includes("-the-cgroup"))).toEqual([]);
    } finally {
      await inside.close();
    }
  });
});
