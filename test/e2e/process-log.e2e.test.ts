// Process logging with the compiled binaries: `agent --process-log on`
// records the execs of `sh -c 'uname -a; /bin/true x y z'` and of a
// 2,000-exec burst, each with its argv or counted as truncated or lost (the
// burst must lose none): on --output stdout, and (the done-when) on
// --output coderd, found through coderd's query API; exec records survive a
// coderd outage and an agent SIGKILL in <spool-dir>/exec/. Without privilege
// `--process-log on` exits 2 naming what is missing, and `optional` runs on
// without it. Needs root (the proc connector and setpriv): CI (.ci/run) runs as root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import {
  ADMIN_TOKEN, binary, coderdPaths, freePort, metric, type Proc, scrape, startAgent as startCoderdAgent, startCoderd, WORKSPACE_ID,
} from "./harness.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";
import { valueOf } from "../helpers/metrics.ts";
import { pidWithin } from "../helpers/pids.ts";

const { dir, cleanup } = tempDir("br-proclog-");
chmodSync(dir, 0o777); // agents run as nobody put their socket here too
afterAll(cleanup);

interface ExecLine {
  msg: string;
  fields: {
    labels: Record<string, string>;
    cmdline: string;
    event: { filename: string; argv: string[]; truncated: boolean; pid: number; ppid: number; uid: number; gid: number; comm: string; time: string };
  };
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error("this test needs root (the kernel proc connector, setpriv); CI runs it as root");
}

function startAgent(args: string[], prefix: string[] = []) {
  const name = `agent-${Math.random().toString(36).slice(2)}`;
  const proc = Bun.spawn([...prefix, binary(), "agent", "--socket", join(dir, `${name}.sock`), "--http-listen", "127.0.0.1:0", ...args], {
    stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: dir, TMPDIR: dir },
  });
  const out = collect(proc.stdout);
  const err = collect(proc.stderr);
  return { proc, stdout: () => out.text, stderr: () => err.text };
}

/** Accumulates a stream's text as it arrives. */
function collect(stream: ReadableStream<Uint8Array>): { text: string } {
  const acc = { text: "" };
  const decoder = new TextDecoder();
  void (async () => {
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) acc.text += decoder.decode(r.value, { stream: true });
  })();
  return acc;
}

function execLines(stdout: string): ExecLine[] {
  return stdout.split("\n").filter((l) => l.includes('"msg":"exec"')).map((l) => JSON.parse(l) as ExecLine);
}

async function runShell(script: string): Promise<number> {
  const sh = Bun.spawn(["sh", "-c", script], { stdout: "ignore", stderr: "inherit" });
  expect(await sh.exited).toBe(0);
  return sh.pid;
}

describe("process log (compiled agent, root)", () => {
  let agent: ReturnType<typeof startAgent>;
  let httpPort = 0;
  beforeAll(async () => {
    requireRoot();
    agent = startAgent(["--process-log", "on", "--output", "stdout"]);
    await until(() => /http http:\/\/127\.0\.0\.1:(\d+)/.test(agent.stderr()) || agent.proc.exitCode !== null, { what: "the agent to start", timeoutMs: 30_000, intervalMs: 50 });
    httpPort = Number(/http http:\/\/127\.0\.0\.1:(\d+)/.exec(agent.stderr())?.[1]);
    if (!httpPort) throw new Error(`agent did not start (exit ${agent.proc.exitCode}):\n${agent.stderr()}`);
    expect(agent.stderr()).toContain("process logging on: the agent's PID namespace, kernel proc connector");
  }, 60_000);
  afterAll(async () => {
    agent?.proc.kill("SIGTERM");
    await agent?.proc.exited;
  });

  test("uname -a and /bin/true x y z are recorded with their argv, filename and parent, or counted truncated", async () => {
    const sh = await runShell("uname -a; /bin/true x y z");
    // Events arrive in order: once an exec started after the shell is on stdout, the shell's are too.
    const marker = Bun.spawn(["sleep", "0.2"]);
    await until(() => execLines(agent.stdout()).some((l) => l.fields.event.pid === marker.pid), { what: "the marker exec on stdout", timeoutMs: 10_000, intervalMs: 50 });
    await marker.exited;
    const events = execLines(agent.stdout()).map((l) => l.fields);
    // sh execs its last command in place: /bin/true runs as sh's own pid.
    const ours = events.filter((f) => f.event.ppid === sh || (f.event.pid === sh && f.event.argv[0] !== "sh"));
    const uname = ours.find((f) => f.event.argv[0] === "uname");
    const tru = ours.find((f) => f.event.argv[0] === "/bin/true");
    // Both exit within microseconds: one gone before /proc/<pid>/cmdline was
    // read is a truncated record without argv, from the shell's pid to the marker's.
    const truncated = events.filter((f) => f.event.truncated && f.event.argv.length === 0 && pidWithin(f.event.pid, sh, marker.pid)).length;
    expect((uname ? 0 : 1) + (tru ? 0 : 1)).toBeLessThanOrEqual(truncated);
    if (uname) expect(uname).toMatchObject({ cmdline: "uname -a", event: { argv: ["uname", "-a"], comm: "uname", uid: 0, gid: 0 } });
    if (tru) expect(tru).toMatchObject({ cmdline: "/bin/true x y z", event: { argv: ["/bin/true", "x", "y", "z"] } });
    // One read with its cmdline may still be gone before its exe link was
    // read (seen in CI under load). Such a record says so; a complete one has its filename.
    for (const [fields, file] of [[uname, /\/uname$/], [tru, /^\/(usr\/)?bin\/true$/]] as const) {
      if (!fields) continue;
      if (!fields.event.truncated) expect(fields.event.filename).toMatch(file);
      else expect(fields.event.filename).toMatch(new RegExp(`^$|${file.source}`));
    }
    for (const f of ours) expect(f.labels).toEqual({ organization_id: "", user_email: "", user_id: "", username: "", workspace_id: "", workspace_name: "" });
    for (const f of ours) expect(Date.parse(f.event.time)).toBeGreaterThan(Date.now() - 60_000);
    console.log(`uname and true on stdout: ${uname ? "uname with argv" : "uname truncated"}, ${tru ? "true with argv" : "true truncated"}`);
  }, 30_000);

  test("a process that lives long enough to be read is recorded complete: filename, argv, uid, gid, comm, parent", async () => {
    const sh = await runShell("exec sleep 0.3");
    await until(() => execLines(agent.stdout()).some((l) => l.fields.event.pid === sh && l.fields.event.argv[0] === "sleep"), { what: "the sleep exec on stdout", timeoutMs: 10_000, intervalMs: 50 });
    const sleep = execLines(agent.stdout()).find((l) => l.fields.event.pid === sh && l.fields.event.argv[0] === "sleep")!;
    expect(sleep.fields).toMatchObject({ cmdline: "sleep 0.3", event: { argv: ["sleep", "0.3"], comm: "sleep", uid: 0, gid: 0, truncated: false } });
    expect(sleep.fields.event.filename).toMatch(/\/sleep$/);
    expect(sleep.fields.event.ppid).toBe(process.pid);
  }, 30_000);

  test("a 2,000-exec burst: each /bin/true $i has its argv, or is counted truncated; none lost", async () => {
    const before = execLines(agent.stdout()).length;
    const sh = await runShell("for i in $(seq 2000); do /bin/true $i; done");
    // Events arrive in order: once an exec started after the burst is on stdout, every burst exec was handled.
    const marker = Bun.spawn(["sleep", "0.5"]);
    await until(() => execLines(agent.stdout()).some((l) => l.fields.event.pid === marker.pid), { what: "the marker exec after the burst", timeoutMs: 60_000, intervalMs: 100 });
    await marker.exited;
    const lines = execLines(agent.stdout()).slice(before);
    const found = new Set<number>();
    for (const l of lines) {
      const e = l.fields.event;
      // ppid 0 on a truncated record: the process was gone before /proc/<pid>/status was read.
      const parentKnown = e.ppid === sh || (e.truncated && e.ppid === 0);
      if (!parentKnown || e.argv[0] !== "/bin/true" || e.argv.length !== 2) continue;
      found.add(Number(e.argv[1]));
    }
    // A /bin/true that exited before /proc was read: a truncated record
    // without argv, from the shell's pid to the marker's (pids wrap).
    const inBurst = (pid: number) => pidWithin(pid, sh, marker.pid);
    const unknown = lines.filter((l) => l.fields.event.truncated && l.fields.event.argv.length === 0 && inBurst(l.fields.event.pid)).length;
    const missing = 2000 - found.size;
    if (missing > unknown) {
      const odd = lines.filter((l) => inBurst(l.fields.event.pid) && !(l.fields.event.ppid === sh && l.fields.event.argv[0] === "/bin/true"));
      console.log(odd.map((l) => JSON.stringify(l.fields.event)).join("\n"));
    }
    const m = await scrape(httpPort);
    console.log(`burst: ${found.size} of 2000 with argv, ${missing} without (${unknown} truncated records without argv in their pid range), lost overruns ${metric(m, "agent_process_events_lost_total")}; pids ${sh} to ${marker.pid}`);
    expect(metric(m, "agent_process_events_lost_total")).toBe(0);
    expect(missing).toBeLessThanOrEqual(unknown);
    expect(found.size).toBeGreaterThan(1000); // most are caught alive, even on a loaded machine
    for (const i of [1, 1000, 2000]) if (!found.has(i)) expect(unknown).toBeGreaterThan(0);
  }, 120_000);
});

/** An exec as coderd's query API returns it. */
interface StoredExec {
  pid: number;
  ppid: number;
  argv: string[];
  filename: string;
  truncated: boolean;
  workspace_id: string;
  workspace_name: string;
  event_time: string;
}

/** Every exec coderd holds for the e2e workspace with an event time from `since`, all pages. */
async function coderdExecs(port: number, since: Date): Promise<StoredExec[]> {
  const all: StoredExec[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ workspace_id: WORKSPACE_ID, since: since.toISOString(), limit: "1000", ...(cursor ? { cursor } : {}) });
    const res = await fetch(`http://127.0.0.1:${port}/api/v2/process/logs?${q}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (res.status !== 200) throw new Error(`process logs: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { execs: StoredExec[]; next_cursor: string | null };
    all.push(...page.execs);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

describe("process log to coderd (compiled agent and coderd, root)", () => {
  const { dir: home, cleanup } = tempDir("br-proclog-coderd-");
  let coderd: Proc;
  let agent: Proc;
  beforeAll(async () => {
    requireRoot();
    coderd = await startCoderd(coderdPaths(home));
    agent = await startCoderdAgent({ socket: join(home, "agent.sock"), spoolDir: join(home, "spool") }, coderd.port, ["--process-log", "on"]);
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await coderd?.stop();
    cleanup();
  });

  test("uname -a and /bin/true x y z reach coderd with their argv and the workspace, or counted truncated", async () => {
    const since = new Date(Date.now() - 1000);
    const sh = await runShell("uname -a; /bin/true x y z");
    // Execs are read, spooled and sent in order: once an exec after the shell is in coderd, the shell's are too.
    const marker = Bun.spawn(["sleep", "0.2"]);
    await until(async () => (await coderdExecs(coderd.port, since)).some((e) => e.pid === marker.pid), { what: "the marker exec in coderd", timeoutMs: 20_000 });
    await marker.exited;
    const execs = await coderdExecs(coderd.port, since);
    // sh execs its last command in place: /bin/true runs as sh's own pid.
    const ours = execs.filter((e) => e.ppid === sh || (e.pid === sh && e.argv[0] !== "sh"));
    const uname = ours.find((e) => e.argv[0] === "uname");
    const tru = ours.find((e) => e.argv[0] === "/bin/true");
    // One gone before /proc/<pid> was read is a truncated record without argv, from the shell's pid to the marker's.
    const truncated = execs.filter((e) => e.truncated && e.argv.length === 0 && pidWithin(e.pid, sh, marker.pid)).length;
    expect((uname ? 0 : 1) + (tru ? 0 : 1)).toBeLessThanOrEqual(truncated);
    if (uname) {
      expect(uname).toMatchObject({ argv: ["uname", "-a"], workspace_id: WORKSPACE_ID, workspace_name: "e2e-ws" });
      expect(uname.filename).toMatch(/\/uname$/);
    }
    if (tru) expect(tru).toMatchObject({ argv: ["/bin/true", "x", "y", "z"], workspace_id: WORKSPACE_ID, filename: "/usr/bin/true" });
    expect(execs.every((e) => e.workspace_name === "e2e-ws")).toBe(true);
    console.log(`uname and true via coderd: ${uname ? "uname with argv" : "uname truncated"}, ${tru ? "true with argv" : "true truncated"}`);
  }, 30_000);

  test("a 2,000-exec burst: each /bin/true $i is in coderd with its argv, or counted truncated; none lost or dropped", async () => {
    const since = new Date(Date.now() - 1000);
    const sh = await runShell("for i in $(seq 2000); do /bin/true $i; done");
    // Execs are read, spooled and sent in order: once an exec after the burst is in coderd, the burst is too.
    const marker = Bun.spawn(["sleep", "0.5"]);
    await until(async () => (await coderdExecs(coderd.port, since)).some((e) => e.pid === marker.pid), { what: "the marker exec after the burst in coderd", timeoutMs: 90_000, intervalMs: 500 });
    await marker.exited;
    const execs = await coderdExecs(coderd.port, since);
    const found = new Set<number>();
    for (const e of execs) {
      const parentKnown = e.ppid === sh || (e.truncated && e.ppid === 0);
      if (!parentKnown || e.argv[0] !== "/bin/true" || e.argv.length !== 2) continue;
      found.add(Number(e.argv[1]));
    }
    const unknown = execs.filter((e) => e.truncated && e.argv.length === 0 && pidWithin(e.pid, sh, marker.pid)).length;
    const missing = 2000 - found.size;
    const m = await scrape(agent.port);
    console.log(
      `burst via coderd: ${found.size} of 2000 with argv, ${missing} without (${unknown} truncated records without argv in their pid range); ` +
        `lost ${metric(m, "agent_process_events_lost_total")}, dropped ${valueOf(m, "agent_process_events_dropped_total")}, forwarded ${metric(m, "agent_process_records_forwarded_total")}; pids ${sh} to ${marker.pid}`,
    );
    expect(metric(m, "agent_process_events_lost_total")).toBe(0);
    expect(valueOf(m, "agent_process_events_dropped_total")).toBe(0);
    expect(missing).toBeLessThanOrEqual(unknown);
    expect(found.size).toBeGreaterThan(1000);
    // Each record in coderd was stored once (coderd de-duplicates re-sends).
    expect(new Set(execs.map((e) => `${e.pid}/${e.event_time}`)).size).toBe(execs.length);
  }, 150_000);
});

describe("process log across a coderd outage and an agent SIGKILL (compiled, root)", () => {
  test("an exec made while coderd is down is spooled in <spool-dir>/exec/ and reaches coderd after both restart", async () => {
    requireRoot();
    const { dir: home, cleanup } = tempDir("br-proclog-outage-");
    const paths = coderdPaths(home);
    const agentPaths = { socket: join(home, "agent.sock"), spoolDir: join(home, "spool") };
    let coderd: Proc | null = null;
    let agent: Proc | null = null;
    try {
      const port = await freePort();
      agent = await startCoderdAgent(agentPaths, port, ["--process-log", "on", "--retry-max", "500ms"]);
      const since = new Date(Date.now() - 1000);
      const pid = await runShell("/bin/sleep 0.2; :");
      await until(async () => metric(await scrape(agent!.port), "agent_process_spool_bytes") > 0, { what: "the exec spooled", timeoutMs: 10_000 });
      await agent.stop("SIGKILL");
      agent = null;
      coderd = await startCoderd(paths, port);
      agent = await startCoderdAgent(agentPaths, port, ["--process-log", "on"]);
      await until(async () => (await coderdExecs(coderd!.port, since)).some((e) => e.ppid === pid && e.argv[0] === "/bin/sleep"), { what: "the spooled exec in coderd", timeoutMs: 20_000 });
      const sleep = (await coderdExecs(coderd.port, since)).find((e) => e.ppid === pid && e.argv[0] === "/bin/sleep");
      expect(sleep?.argv).toEqual(["/bin/sleep", "0.2"]);
    } finally {
      await agent?.stop();
      await coderd?.stop();
      cleanup();
    }
  }, 60_000);
});

describe("process log without privilege (compiled agent, root drops it with setpriv)", () => {
  const asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

  test("--process-log on as nobody: exit 2 naming CAP_NET_ADMIN and CAP_SYS_PTRACE", async () => {
    requireRoot();
    const agent = startAgent(["--process-log", "on", "--output", "stdout"], asNobody);
    expect(await agent.proc.exited).toBe(2);
    await until(() => agent.stderr().includes("process_log"), { what: "stderr", timeoutMs: 5_000, intervalMs: 20 });
    expect(agent.stderr()).toContain("process_log (from --process-log on): process logging is unavailable (permission)");
    expect(agent.stderr()).toContain("needs CAP_NET_ADMIN and CAP_SYS_PTRACE");
  }, 30_000);

  test("--process-log on without CAP_NET_ADMIN only: exit 2 naming just it", async () => {
    requireRoot();
    const agent = startAgent(["--process-log", "on", "--output", "stdout"], ["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin"]);
    expect(await agent.proc.exited).toBe(2);
    await until(() => agent.stderr().includes("process_log"), { what: "stderr", timeoutMs: 5_000, intervalMs: 20 });
    expect(agent.stderr()).toContain("process logging needs CAP_NET_ADMIN (");
    expect(agent.stderr()).not.toContain("CAP_SYS_PTRACE to read");
  }, 30_000);

  test("--process-log optional as nobody: runs without it and says why", async () => {
    requireRoot();
    const agent = startAgent(["--process-log", "optional", "--output", "stdout", "--http-listen", `127.0.0.1:${await freePort()}`], asNobody);
    try {
      await until(() => /http http:\/\/127\.0\.0\.1:(\d+)/.test(agent.stderr()) || agent.proc.exitCode !== null, { what: "the agent to start", timeoutMs: 30_000, intervalMs: 50 });
      expect(agent.proc.exitCode).toBeNull();
      expect(agent.stderr()).toContain("--process-log optional: running without process logging (permission)");
    } finally {
      agent.proc.kill("SIGTERM");
      expect(await agent.proc.exited).toBe(0);
    }
  }, 30_000);
});
