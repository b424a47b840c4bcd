// `boundary-relay send` as a child process against a real in-process agent.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { parseRecord, RecordSyntaxError } from "../../src/client/records.ts";
import { metricValue, startTestAgent, type TestAgent } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";
import { runCli } from "../helpers/cli.ts";

let agent: TestAgent | null = null;
afterEach(async () => {
  await agent?.close();
  agent = null;
});

test("record syntax: DECISION:METHOD:URL[:RULE]", () => {
  expect(parseRecord("allow:GET:https://x/y:domain=x")).toEqual({ allowed: true, method: "GET", url: "https://x/y", matchedRule: "domain=x" });
  expect(parseRecord("deny:post:https://x")).toEqual({ allowed: false, method: "POST", url: "https://x", matchedRule: "" });
  expect(parseRecord("deny:GET:http://203.0.113.7:8080/a?b=c").url).toBe("http://203.0.113.7:8080/a?b=c");
  expect(parseRecord("allow:GET:https://x:8443/p:method=GET domain=x").matchedRule).toBe("method=GET domain=x");
  for (const bad of ["allow", "maybe:GET:https://x", "allow:G T:https://x", "deny:GET:https://x:domain=x", "allow:GET:"]) {
    expect(() => parseRecord(bad)).toThrow(RecordSyntaxError);
  }
});

test("send RECORD... delivers them as one session; the agent writes them", async () => {
  agent = await startTestAgent();
  const a = agent;
  const session = "0b0e6f3c-5a43-4f4e-9a51-2f0f3c1d9e77";
  const r = await runCli(["send", "--socket", a.config.socket, "--session-id", session, "--process-name", "codex", "allow:GET:https://x/y:domain=x", "deny:POST:https://pastebin.com/x"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("sent 2 of 2 records (1 allowed, 1 denied)");
  await until(() => a.stdout.lines.length === 2, { what: "two lines" });
  const lines = a.stdout.lines.map((l) => JSON.parse(l).fields);
  expect(lines.map((f) => [f.decision, f.sequence_number, f.session_id, f.confined_process_name])).toEqual([
    ["allow", 0, session, "codex"],
    ["deny", 1, session, "codex"],
  ]);
  expect(lines[0].matched_rule).toBe("domain=x");
});

test("send --demo writes a mix of allowed and denied requests", async () => {
  agent = await startTestAgent();
  const a = agent;
  const r = await runCli(["send", "--socket", a.config.socket, "--demo"]);
  expect(r.code).toBe(0);
  await until(async () => (await metricValue(a, "records_written_total")) >= 10, { what: "demo records" });
  const decisions = a.stdout.lines.map((l) => JSON.parse(l).fields.decision);
  expect(decisions).toContain("allow");
  expect(decisions).toContain("deny");
  expect(a.stdout.text).toContain("pastebin.com");
  expect(a.stdout.text).toContain("registry.npmjs.org");
});

test("send --count --sessions is a load generator: every session its own UUID, sequence numbers from 0, a summary", async () => {
  agent = await startTestAgent();
  const a = agent;
  const r = await runCli(["send", "--socket", a.config.socket, "--count", "3000", "--sessions", "3", "--rate", "100000"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/sent 3000 of 3000 records over 3 sessions in [\d.]+s \(\d+ records\/s\); dropped 0/);
  await until(async () => (await metricValue(a, "records_received_total")) === 3000, { what: "all records" });
  expect(await metricValue(a, "connections_total")).toBe(3);
  await until(() => a.stdout.lines.length === 3000, { what: "all lines" });
  const bySession = new Map<string, number[]>();
  for (const line of a.stdout.lines) {
    const f = JSON.parse(line).fields;
    bySession.set(f.session_id, [...(bySession.get(f.session_id) ?? []), f.sequence_number]);
  }
  expect(bySession.size).toBe(3);
  for (const seqs of bySession.values()) expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i));
});

test("send: bad records and a missing RECORD are usage errors (exit 2)", async () => {
  const bad = await runCli(["send", "--socket", "/nonexistent/s.sock", "maybe:GET:https://x"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("decision must be allow or deny");
  const none = await runCli(["send", "--socket", "/nonexistent/s.sock"]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("give RECORD arguments, --demo, or --count");
  const help = await runCli(["send", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("DECISION:METHOD:URL[:RULE]");
});

test("send with no agent on the socket fails at once, says how to start one, and accounts for all 15 records", async () => {
  const { dir, cleanup } = tempDir("send-none-");
  try {
    const startedAt = Date.now();
    const r = await runCli(["send", "--socket", join(dir, "boundary-audit.sock"), "--demo"]);
    expect(r.code).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(5_000); // not the 10 s retry budget
    expect(r.stderr).toContain(`no agent is listening on ${join(dir, "boundary-audit.sock")} (ENOENT); nothing was sent (0 of 15 records)`);
    expect(r.stderr).toContain("boundary-relay dev");
  } finally {
    cleanup();
  }
});

test("send --count --rate prints its progress to stderr about once a second", async () => {
  agent = await startTestAgent();
  const r = await runCli(["send", "--socket", agent.config.socket, "--count", "25", "--rate", "10"]);
  expect(r.code).toBe(0);
  const progress = r.stderr.split("\n").filter((l) => /records sent \(\d+ dropped\) after \d+s$/.test(l));
  expect(progress.length).toBeGreaterThanOrEqual(2);
  expect(progress[0]).toMatch(/^boundary-relay send: \d+ of 25 records sent/);
  expect(r.stdout).toContain("sent 25 of 25 records");
});

test("send --count honours --session-id with one session, and refuses it with several", async () => {
  agent = await startTestAgent();
  const a = agent;
  const session = "7d1f0c2a-3b4e-4f5a-8b6c-9d0e1f2a3b4c";
  const one = await runCli(["send", "--socket", a.config.socket, "--count", "12", "--session-id", session]);
  expect(one.code).toBe(0);
  await until(() => a.stdout.lines.length === 12, { what: "12 lines" });
  expect(new Set(a.stdout.lines.map((l) => JSON.parse(l).fields.session_id))).toEqual(new Set([session]));
  const several = await runCli(["send", "--socket", a.config.socket, "--count", "12", "--sessions", "2", "--session-id", session]);
  expect(several.code).toBe(2);
  expect(several.stderr).toContain("session_id (from command line): --session-id names one session");
});
