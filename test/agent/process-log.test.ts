// The agent's --process-log wiring, in process (root: the kernel proc
// connector; CI runs as root): exec lines on --output stdout, the
// not_forwarded count on --output coderd, and the metrics present at 0.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { registryMetric } from "../helpers/metrics.ts";

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
    expect(text).toContain('agent_process_events_dropped_total{reason="not_forwarded"} 0');
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

  test("on, --output coderd: exec records are counted as not_forwarded and the agent says so", async () => {
    if (process.getuid?.() !== 0) throw new Error("needs root (CI runs as root)");
    const spool = join(process.env.TMPDIR ?? "/tmp", `pl-spool-${process.pid}-${Date.now()}`);
    agent = await startTestAgent([
      "--process-log", "on", "--output", "coderd", "--coderd-url", "http://127.0.0.1:9", "--agent-token", "t-0123456789abcdef", "--spool-dir", spool,
    ]);
    expect(agent.warnings.join("\n")).toContain('not forwarded to coderd in this release: each is counted in agent_process_events_dropped_total{reason="not_forwarded"}');
    await runSleep("coderd-output");
    await until(async () => (await value(agent!, "agent_process_events_dropped_total", { reason: "not_forwarded" })) >= 1, { what: "not_forwarded to count it" });
    const taken = (await value(agent, "agent_process_events_total"));
    expect(await value(agent, "agent_process_events_dropped_total", { reason: "not_forwarded" })).toBe(taken);
  });
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
