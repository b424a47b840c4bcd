// Configuration faults an operator hit (issue #13), against the compiled binary.
import { afterEach, expect, test } from "bun:test";
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
