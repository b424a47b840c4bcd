// Configuration faults an operator hit (issue #13), against the compiled binary.
import { afterEach, describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { until } from "../helpers/until.ts";
import { runBinary, startBinaryChild, tempDir } from "./harness.ts";
import type { Child } from "../helpers/cli.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function workDir(): string {
  const { dir, cleanup } = tempDir("e2e-config-");
  cleanups.push(cleanup);
  return dir;
}

function started(args: string[], env: Record<string, string>): Child {
  const child = startBinaryChild(args, env);
  cleanups.push(async () => {
    child.kill("SIGKILL");
    await child.exited;
  });
  return child;
}

test("socket_mode: 0644 unquoted in YAML gives a socket of mode 0644, not 01204", async () => {
  const dir = workDir();
  const file = join(dir, "agent.yaml");
  const socket = join(dir, "audit.sock");
  writeFileSync(file, `socket: ${socket}\nsocket_mode: 0644\nhttp_listen: 127.0.0.1:0\noutput: discard\n`);
  const check = await runBinary(["config", "check", "--role", "agent", "--config", file], { HOME: dir });
  expect(check.code).toBe(0);
  const child = started(["agent", "--config", file], { HOME: dir });
  await until(() => child.stderr().includes("listening on socket") || child.proc.exitCode !== null, { what: "the startup line" });
  expect(child.stderr()).toContain("(mode 0644)");
  expect(statSync(socket).mode & 0o7777).toBe(0o644);
});

test("socket_mode: a decimal that is no octal mode (0648) is refused naming the field and the file", async () => {
  const dir = workDir();
  const file = join(dir, "agent.yaml");
  writeFileSync(file, "socket_mode: 0648\n");
  const r = await runBinary(["config", "check", "--role", "agent", "--config", file], { HOME: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`socket_mode (from ${file}: socket_mode): "0648" is not an octal file mode`);
});

describe("config check --role coderd applies coderd's start-up rules", () => {
  const check = (dir: string, ...flags: string[]) =>
    runBinary(["config", "check", "--role", "coderd", "--db", `sqlite:${join(dir, "c.db")}`, ...flags], { HOME: dir });

  test("a postgres:// URL is accepted and printed with its password redacted; a --db of no known store is refused", async () => {
    const dir = workDir();
    const r = await check(dir, "--db", "postgres://relay:hunter2-secret@127.0.0.1/relay");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('db: "postgres://relay:[redacted]@127.0.0.1/relay"');
    expect(r.stdout + r.stderr).not.toContain("hunter2-secret");
    const other = await check(dir, "--db", "mysql://relay:hunter2-secret@127.0.0.1/relay");
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("db (from --db): must be sqlite:PATH or postgres://");
    expect(other.stdout + other.stderr).not.toContain("hunter2-secret");
  });

  test("a missing or invalid --agents-file is refused naming it", async () => {
    const dir = workDir();
    const missing = await check(dir, "--agents-file", join(dir, "nope.yaml"));
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining("agents_file")]);
    writeFileSync(join(dir, "agents.yaml"), "agents:\n  - token: a-token-long-enough-1\n    workspace_id: not-a-uuid\n    workspace_name: w\n    owner_name: o\n");
    const invalid = await check(dir, "--agents-file", join(dir, "agents.yaml"));
    expect([invalid.code, invalid.stderr]).toEqual([2, expect.stringContaining("agents[0].workspace_id")]);
  });

  test("a missing --admin-token-file, a short admin token, a TLS cert without key are refused naming the field", async () => {
    const dir = workDir();
    const noFile = await check(dir, "--admin-token-file", join(dir, "absent"));
    expect([noFile.code, noFile.stderr]).toEqual([2, expect.stringContaining("admin_token_file (from --admin-token-file)")]);
    const short = await check(dir, "--admin-token", "short");
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining("admin_token (from --admin-token): the admin token is 5 characters; it must be at least 16")]);
    writeFileSync(join(dir, "cert.pem"), "-----BEGIN CERTIFICATE-----\n");
    const noKey = await check(dir, "--tls-cert-file", join(dir, "cert.pem"));
    expect([noKey.code, noKey.stderr]).toEqual([2, expect.stringContaining("tls_key_file (from --tls-key-file)")]);
  });

  test("a short admin token: config check and coderd itself both refuse it (exit 2)", async () => {
    const dir = workDir();
    const flags = ["--admin-token", "short", "--http-listen", "127.0.0.1:0"];
    const checked = await check(dir, ...flags);
    const started = await runBinary(["coderd", "--db", `sqlite:${join(dir, "c.db")}`, ...flags], { HOME: dir });
    expect([checked.code, started.code]).toEqual([2, 2]);
  });
});

test("config check prints no password inside a URL (--coderd-url https://user:pw@host)", async () => {
  const dir = workDir();
  const r = await runBinary(["config", "check", "--role", "agent", "--coderd-url", "https://relay:pa55w0rd-x@coder.example", "--agent-token", "a-token-0123456789"], { HOME: dir });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('coderd_url: "https://relay:[redacted]@coder.example"');
  expect(r.stdout).not.toContain("pa55w0rd-x");
});
