// `boundary-relay dev --demo` as a newcomer runs it: both roles come up,
// the demo records reach coderd's stderr and the query API, Ctrl-C stops
// both with exit 0, and a second run reuses the same identity and store.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Child, startCli } from "../helpers/cli.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";
import postgres from "postgres";
import { freshDatabase, PG_PASSWORD, PG_TEST_TIMEOUT_MS, postgresAvailable } from "../helpers/postgres.ts";

const children: Child[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill("SIGKILL");
    await c.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function startDev(dir: string): Child {
  const child = startCli([
    "dev", "--demo", "--state-dir", join(dir, "state"), "--socket", join(dir, "boundary.sock"),
    "--coderd-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0",
  ]);
  children.push(child);
  return child;
}

async function logs(coderdUrl: string, adminToken: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${coderdUrl}/api/v2/boundary/logs?limit=100`, { headers: { Authorization: `Bearer ${adminToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()).logs;
}

async function runOnce(dir: string, expected: number): Promise<{ banner: string; records: Array<Record<string, unknown>> }> {
  const child = startDev(dir);
  await until(() => /coderd metrics +(http:\/\/\S+)\/metrics/.test(child.stderr()), { what: "the banner", timeoutMs: 20_000 });
  const coderdUrl = /coderd metrics +(http:\/\/\S+)\/metrics/.exec(child.stderr())![1]!;
  const agentUrl = /agent metrics +(http:\/\/\S+)\/metrics/.exec(child.stderr())![1]!;
  const adminToken = readFileSync(join(dir, "state", "admin-token"), "utf8").trim();
  let records: Array<Record<string, unknown>> = [];
  await until(async () => {
    records = await logs(coderdUrl, adminToken);
    return records.length >= expected;
  }, { what: "the demo records in the query API", timeoutMs: 20_000 });
  expect((await fetch(`${agentUrl}/readyz`)).status).toBe(200);
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
  return { banner: child.stderr(), records };
}

test("dev --demo: records reach coderd's stderr and the query API; Ctrl-C exits 0; a second run reuses the identity", async () => {
  const dir = tempDir("dev-").dir;
  dirs.push(dir);
  const first = await runOnce(dir, 15);
  expect(first.banner).toContain("new development identity made");
  expect(first.banner).toContain(`boundary --log-proxy-socket-path ${join(dir, "boundary.sock")}`);
  expect(first.records).toHaveLength(15);
  expect(new Set(first.records.map((r) => r.confined_process_name))).toEqual(new Set(["claude"])); // as send --demo
  expect(first.banner.match(/\] boundary_request /g)?.length).toBe(15);
  expect(first.banner).toContain("boundary-relay dev: stopped");
  const workspace = first.records[0]!.workspace_id;

  const second = await runOnce(dir, 30);
  expect(second.banner).not.toContain("new development identity made");
  expect(second.records).toHaveLength(30);
  expect(new Set(second.records.map((r) => r.workspace_id))).toEqual(new Set([workspace]));
}, 90_000);

test("dev: records an earlier run left in the spool are printed before the banner, which comes last", async () => {
  const dir = tempDir("dev-backlog-").dir;
  dirs.push(dir);
  const socket = join(dir, "boundary.sock");
  // An agent alone, its coderd away: 30 records stay in what will be dev's spool.
  const agent = startCli([
    "agent", "--socket", socket, "--http-listen", "127.0.0.1:0", "--output", "coderd", "--coderd-url", "http://127.0.0.1:9",
    "--agent-token", "earlier-run-token-0123", "--spool-dir", join(dir, "state", "spool"), "--shutdown-timeout", "1s",
  ], { HOME: dir });
  children.push(agent);
  await until(() => agent.stderr().includes("listening on socket"), { what: "the agent", timeoutMs: 20_000 });
  const sent = startCli(["send", "--socket", socket, "--count", "30"]);
  expect(await sent.exited).toBe(0);
  agent.kill("SIGTERM");
  expect(await agent.exited).toBe(0);

  const child = startCli(["dev", "--state-dir", join(dir, "state"), "--socket", socket, "--coderd-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"]);
  children.push(child);
  await until(() => child.stderr().includes("Ctrl-C stops both"), { what: "the banner", timeoutMs: 30_000 });
  const lines = child.stderr().split("\n");
  const lastRecord = lines.findLastIndex((l) => l.includes("] boundary_request "));
  const bannerAt = lines.findIndex((l) => l.startsWith("boundary-relay dev: coderd and agent are up"));
  expect(lines.filter((l) => l.includes("] boundary_request ")).length).toBe(30);
  expect(bannerAt).toBeGreaterThan(lastRecord);
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
}, 90_000);

test.skipIf(!postgresAvailable())("dev --demo --db postgres://…: the demo records are stored in PostgreSQL; the banner hides the password", async () => {
  const dir = tempDir("dev-pg-").dir;
  dirs.push(dir);
  const db = await freshDatabase("dev");
  const child = startCli([
    "dev", "--demo", "--db", db, "--state-dir", join(dir, "state"), "--socket", join(dir, "boundary.sock"),
    "--coderd-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0",
  ]);
  children.push(child);
  await until(() => /coderd metrics +(http:\/\/\S+)\/metrics/.test(child.stderr()), { what: "the banner", timeoutMs: 20_000 });
  const coderdUrl = /coderd metrics +(http:\/\/\S+)\/metrics/.exec(child.stderr())![1]!;
  const adminToken = readFileSync(join(dir, "state", "admin-token"), "utf8").trim();
  await until(async () => (await logs(coderdUrl, adminToken)).length >= 15, { what: "the demo records in the query API", timeoutMs: 20_000 });
  const sql = postgres(db, { max: 1, onnotice: () => {} });
  try {
    expect(Number((await sql`SELECT count(*) AS n FROM boundary_logs`)[0]!.n)).toBe(15);
  } finally {
    await sql.end({ timeout: 1 });
  }
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
  expect(child.stderr()).toMatch(/database +postgres:\/\/relay:\[redacted\]@/);
  expect(child.stderr()).not.toContain(PG_PASSWORD);
}, PG_TEST_TIMEOUT_MS);
