// The real `boundary-relay agent` as a child process (or BOUNDARY_RELAY_BIN).
import { afterEach, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, endAndWait, write } from "../helpers/agent.ts";
import { readMetric } from "../helpers/metrics.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";
import { type Child, runCli, startCli } from "../helpers/cli.ts";
import { vector } from "../helpers/vectors.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startAgentCli(extra: string[] = []): Promise<{ child: Child; socket: string; port: number }> {
  const { dir, cleanup } = tempDir();
  const socket = join(dir, "boundary-audit.sock");
  const child = startCli(["agent", "--socket", socket, "--http-listen", "127.0.0.1:0", "--output", "stdout", ...extra], {
    TMPDIR: dir,
    HOME: dir,
  });
  cleanups.push(cleanup, async () => {
    child.kill("SIGKILL");
    await child.exited;
  });
  await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(child.stderr()) || child.proc.exitCode !== null, { what: "startup line", timeoutMs: 20_000 });
  const port = Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(child.stderr())?.[1]);
  if (!port) throw new Error(`agent did not start: ${child.stderr()}`);
  return { child, socket, port };
}

test("agent CLI: v2_logs then v2_status become three JSON lines and boundary's drop counts; SIGTERM exits 0", async () => {
  const { child, socket, port } = await startAgentCli();
  expect(child.stderr()).toContain(`listening on socket ${socket}`);
  const s = await connect(socket);
  await write(s, vector("v2_logs").bytes);
  await write(s, vector("v2_status").bytes);
  await endAndWait(s);
  await until(() => child.stdout().split("\n").filter(Boolean).length === 3, { what: "three lines on stdout" });
  const lines = child.stdout().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.level, l.fields.decision, l.fields.sequence_number])).toEqual([
    ["INFO", "allow", 0],
    ["WARN", "deny", 1],
    ["WARN", "deny", 2],
  ]);
  expect(lines[2].fields.http_url).toBe('https://例え.jp/path?q="x"\n[info] forged line');
  const url = `http://127.0.0.1:${port}`;
  const dropped = (reason: string) => readMetric(url, "agent_boundary_log_proxy_logs_dropped_total", { reason });
  await until(async () => (await dropped("boundary_channel_full")) === 5, { what: "status counted" });
  expect(await dropped("boundary_batch_full")).toBe(2);
  expect(await readMetric(url, "agent_boundary_log_proxy_records_received_total")).toBe(3);
  expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  expect(existsSync(socket)).toBe(false);
});

test("agent CLI: an open boundary connection does not hold up SIGTERM, and nothing written is lost", async () => {
  const { child, socket } = await startAgentCli();
  const s = await connect(socket);
  await write(s, vector("stream").bytes);
  await until(() => child.stdout().split("\n").filter(Boolean).length === 4, { what: "records in" });
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  expect(child.stdout().split("\n").filter(Boolean)).toHaveLength(4);
  s.destroy();
});

test("agent CLI: a second SIGTERM during the drain exits 1 at once", async () => {
  // coderd is a closed port: the drain keeps retrying for --shutdown-timeout (60 s here).
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const { child, socket } = await startAgentCli([
    "--output", "coderd", "--coderd-url", "http://127.0.0.1:9", "--agent-token", "t-0123456789abcdef",
    "--spool-dir", join(dir, "spool"), "--shutdown-timeout", "60s", "--retry-initial", "50ms",
  ]);
  const s = await connect(socket);
  await write(s, vector("v2_logs").bytes);
  await endAndWait(s);
  const received = () => readMetric(`http://127.0.0.1:${port(child)}`, "agent_boundary_log_proxy_records_received_total");
  await until(async () => (await received()) === 3, { what: "records spooled" });
  child.kill("SIGTERM");
  await until(() => child.stderr().includes("SIGTERM: draining and stopping"), { what: "the drain began" });
  const sentAt = Date.now();
  child.kill("SIGTERM");
  expect(await child.exited).toBe(1);
  expect(Date.now() - sentAt).toBeLessThan(5_000); // not the 60 s shutdown timeout
  expect(child.stderr()).toContain("second SIGTERM, exiting without draining");
});

const port = (child: Child) => Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(child.stderr())?.[1]);

test("agent CLI: bad configuration exits 2 naming the field and its source", async () => {
  const r = await runCli(["agent", "--socket-mode", "999", "--queue-max-records", "x"], { BOUNDARY_RELAY_HTTP_LISTEN: "nope" });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("socket_mode (from --socket-mode)");
  expect(r.stderr).toContain("queue_max_records (from --queue-max-records)");
  expect(r.stderr).toContain("http_listen (from BOUNDARY_RELAY_HTTP_LISTEN)");
});

test("agent CLI: --output coderd without what it needs exits 2 naming the field", async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const base = ["agent", "--socket", join(dir, "s.sock"), "--http-listen", "127.0.0.1:0", "--output", "coderd"];
  const noUrl = await runCli(base);
  expect(noUrl.code).toBe(2);
  expect(noUrl.stderr).toContain("coderd_url");
  const noToken = await runCli([...base, "--coderd-url", "http://127.0.0.1:9"], { CODER_AGENT_TOKEN: "" });
  expect(noToken.code).toBe(2);
  expect(noToken.stderr).toContain("agent_token");
  writeFileSync(join(dir, "file"), "not a directory");
  const badSpool = await runCli([...base, "--coderd-url", "http://127.0.0.1:9", "--agent-token", "t", "--spool-dir", join(dir, "file", "spool")]);
  expect(badSpool.code).toBe(2);
  expect(badSpool.stderr).toContain("spool_dir");
}, 30_000); // three processes from source: seconds on a loaded machine

test("agent CLI: --help lists the options and exits 0", async () => {
  const r = await runCli(["agent", "--help"]);
  expect(r.code).toBe(0);
  for (const flag of ["--socket", "--socket-mode", "--http-listen", "--output", "CODER_AGENT_BOUNDARY_LOG_PROXY_SOCKET_PATH"]) {
    expect(r.stdout).toContain(flag);
  }
});
