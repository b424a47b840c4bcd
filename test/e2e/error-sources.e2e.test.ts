// Every error names the option the operator typed (issue #13 item 5),
// against the compiled binary.
import { afterEach, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { runBinary } from "./harness.ts";
import { tempDir } from "../helpers/temp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function workDir(): string {
  const { dir, cleanup } = tempDir("e2e-errors-");
  cleanups.push(cleanup);
  return dir;
}

/** A loopback port held by someone else for the test's duration. */
async function heldPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as { port: number }).port;
}

test("agent_token_file that cannot be read names the flag, with the path in the message", async () => {
  const dir = workDir();
  const r = await runBinary(["agent", "--output", "coderd", "--coderd-url", "http://127.0.0.1:9", "--agent-token-file", join(dir, "agent-token"), "--socket", join(dir, "s.sock")], { HOME: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`agent_token_file (from --agent-token-file): cannot read ${join(dir, "agent-token")}`);
});

test("dev: a port clash names --agent-listen or --coderd-listen, the flags dev has", async () => {
  const dir = workDir();
  const port = await heldPort();
  const dev = (...flags: string[]) => runBinary(["dev", "--state-dir", join(dir, "state"), "--socket", join(dir, "s.sock"), ...flags], { HOME: dir });
  const agentClash = await dev("--coderd-listen", "127.0.0.1:0", "--agent-listen", `127.0.0.1:${port}`);
  expect(agentClash.code).toBe(1);
  expect(agentClash.stderr).toContain(`cannot listen on --agent-listen 127.0.0.1:${port}: the address is in use`);
  expect(agentClash.stderr).not.toContain("--http-listen");
  const coderdClash = await dev("--coderd-listen", `127.0.0.1:${port}`, "--agent-listen", "127.0.0.1:0");
  expect(coderdClash.code).toBe(1);
  expect(coderdClash.stderr).toContain(`cannot listen on --coderd-listen 127.0.0.1:${port}: the address is in use`);
});

test("agent: a port clash is worded as coderd's, naming --http-listen once", async () => {
  const dir = workDir();
  const port = await heldPort();
  const r = await runBinary(["agent", "--socket", join(dir, "s.sock"), "--http-listen", `127.0.0.1:${port}`], { HOME: dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    `boundary-relay agent: cannot listen on --http-listen 127.0.0.1:${port}: the address is in use (another boundary-relay running? choose another with --http-listen)\n`,
  );
});

test("coderd: a port clash names --http-listen", async () => {
  const dir = workDir();
  const port = await heldPort();
  const r = await runBinary(["coderd", "--db", `sqlite:${join(dir, "c.db")}`, "--http-listen", `127.0.0.1:${port}`], { HOME: dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`cannot listen on --http-listen 127.0.0.1:${port}`);
});

test("coderd that cannot listen exits at once: nothing it opened (the store's query thread) holds the process", async () => {
  const dir = workDir();
  const port = await heldPort();
  const t0 = performance.now();
  const r = await runBinary(["coderd", "--db", `sqlite:${join(dir, "c.db")}`, "--http-listen", `127.0.0.1:${port}`], { HOME: dir });
  const seconds = (performance.now() - t0) / 1000;
  expect(r.code).toBe(1);
  // Start-up and the failure take a fraction of a second; a timer left behind on close held it 2 s.
  expect(seconds).toBeLessThan(1.5);
});

test("config check --role nope says the role is unknown and which roles exist", async () => {
  const r = await runBinary(["config", "check", "--role", "nope"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('unknown role "nope": the roles are agent or coderd');
});

test("an unknown flag with a value is one error, not a second one about its value", async () => {
  const r = await runBinary(["config", "check", "--role", "agent", "--bogus", "5"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--bogus (from command line): unknown flag");
  expect(r.stderr).not.toContain("unexpected argument");
});

test("every usage mistake is one line in one shape, FIELD (from WHERE): PROBLEM, and exit 2", async () => {
  const cases: Array<[string[], string]> = [
    [["version", "--bogus"], "--bogus (from command line): unknown flag (see --help)"],
    [["version", "extra"], "extra (from command line): unexpected argument"],
    [["config", "nope"], 'subcommand (from command line): unknown subcommand "nope": the only one is check (see --help)'],
    [["config"], "subcommand (from command line): missing: the only one is check (see --help)"],
    [["send", "--count", "abc"], "count (from --count): is not a whole number"],
    [["send", "--sessions", "0"], "sessions (from --sessions): must be at least 1"],
    [["dev", "--demo=maybe"], "demo (from --demo): is not true or false (1/0, yes/no also work)"],
  ];
  for (const [argv, line] of cases) {
    const r = await runBinary(argv);
    const command = argv[0]!;
    expect([argv, r.code, r.stderr]).toEqual([argv, 2, `boundary-relay ${command}: invalid configuration:\n  ${line}\n`]);
  }
});
