// Configuration faults an operator hit (issue #13), against the compiled binary.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { until } from "../helpers/until.ts";
import { runBinary, startBinaryChild } from "./harness.ts";
import type { Child } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

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

  test("coderd --help offers only the --db kinds start-up accepts", async () => {
    const dir = workDir();
    const help = (await runBinary(["coderd", "--help"])).stdout;
    const dbHelp = help.slice(help.indexOf("--db VALUE"), help.indexOf("env: BOUNDARY_RELAY_DB"));
    const offered: Record<string, string> = { "sqlite:PATH": `sqlite:${join(dir, "c.db")}`, "postgres://": "postgres://relay:pw@127.0.0.1/relay" };
    for (const [kind, example] of Object.entries(offered)) {
      const refused = (await check(dir, "--db", example)).code !== 0;
      // Named as a choice in the help exactly when start-up accepts it (a refusal may be mentioned as one).
      const offeredAsChoice = new RegExp(`(store: |or )${kind.replace(/[/:]/g, "\\$&")}`).test(dbHelp);
      expect({ kind, offeredAsChoice }).toEqual({ kind, offeredAsChoice: !refused });
    }
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

  test("a --db directory that cannot be made: config check and coderd both refuse it naming db (exit 2), leaving nothing behind", async () => {
    const dir = workDir();
    const unmakeable = "sqlite:/proc/x/y.db";
    const checked = await check(dir, "--db", unmakeable);
    const started = await runBinary(["coderd", "--db", unmakeable, "--http-listen", "127.0.0.1:0"], { HOME: dir });
    for (const r of [checked, started]) {
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("db (from --db): cannot create the directory /proc/x for the database")]);
    }
    // The check tries what start-up does, and takes back what it made.
    const fresh = join(dir, "new", "deeper");
    const ok = await check(dir, "--db", `sqlite:${join(fresh, "c.db")}`);
    expect(ok.code).toBe(0);
    expect(existsSync(join(dir, "new"))).toBe(false);
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

describe("config check --role agent applies the agent's start-up rules to the paths it names", () => {
  const agentFlags = (dir: string) => ["--coderd-url", "https://coderd.example", "--agent-token", "a-token-0123456789", "--spool-dir", join(dir, "spool"), "--socket", join(dir, "s.sock")];
  const both = async (dir: string, ...flags: string[]) => {
    const checked = await runBinary(["config", "check", "--role", "agent", ...agentFlags(dir), ...flags], { HOME: dir });
    const started = await runBinary(["agent", ...agentFlags(dir), "--http-listen", "127.0.0.1:0", ...flags], { HOME: dir });
    return [checked, started];
  };

  test("a --socket whose directory cannot be made, or that is a regular file: both exit 2 naming socket", async () => {
    const dir = workDir();
    for (const r of await both(dir, "--socket", "/proc/x/s.sock")) {
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("socket (from --socket): cannot create the directory /proc/x for the socket")]);
    }
    writeFileSync(join(dir, "plain-file"), "");
    for (const r of await both(dir, "--socket", join(dir, "plain-file"))) {
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`socket (from --socket): ${join(dir, "plain-file")} exists and is not a socket`)]);
    }
  });

  test("a --spool-dir that cannot be made and an unreadable --ca-file: both exit 2 naming the field, and the check leaves nothing behind", async () => {
    const dir = workDir();
    for (const r of await both(dir, "--spool-dir", "/proc/x/spool")) {
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("spool_dir (from --spool-dir): spool directory /proc/x/spool is not usable")]);
    }
    for (const r of await both(dir, "--ca-file", join(dir, "absent.pem"))) {
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`ca_file (from --ca-file): cannot read --ca-file ${join(dir, "absent.pem")}`)]);
    }
    const ok = await runBinary(["config", "check", "--role", "agent", ...agentFlags(join(dir, "fresh"))], { HOME: dir });
    expect(ok.code).toBe(0);
    expect(existsSync(join(dir, "fresh"))).toBe(false);
  });
});

test("dev: a --state-dir that cannot be made exits 2 naming state_dir", async () => {
  const dir = workDir();
  const r = await runBinary(["dev", "--state-dir", "/proc/x/state", "--socket", join(dir, "s.sock"), "--coderd-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"], { HOME: dir });
  expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("state_dir (from --state-dir): cannot create /proc/x/state")]);
});
