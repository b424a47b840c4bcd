import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AgentConfig, agentOptions } from "../../src/config/agent.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { tempDir } from "../helpers/temp.ts";
import { runCli } from "../helpers/cli.ts";

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function fileWith(text: string, name = "agent.yaml"): string {
  const { dir, cleanup } = tempDir("br-config-");
  cleanups.push(cleanup);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const load = (argv: string[], env: Record<string, string> = {}) => loadConfig<AgentConfig>(agentOptions(env), { argv, env });

function issues(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

test("socket: flag > BOUNDARY_RELAY_SOCKET > CODER_AGENT_BOUNDARY_LOG_PROXY_SOCKET_PATH > file > $TMPDIR default", () => {
  const file = fileWith("socket: /from/file.sock\n");
  const all = { BOUNDARY_RELAY_SOCKET: "/from/relay-env.sock", CODER_AGENT_BOUNDARY_LOG_PROXY_SOCKET_PATH: "/from/coder-env.sock", TMPDIR: "/tmpdir" };
  expect(load(["--config", file, "--socket", "/from/flag.sock"], all).config.socket).toBe("/from/flag.sock");
  expect(load(["--config", file], all).config.socket).toBe("/from/relay-env.sock");
  const { BOUNDARY_RELAY_SOCKET: _, ...coderOnly } = all;
  const loaded = load(["--config", file], coderOnly);
  expect(loaded.config.socket).toBe("/from/coder-env.sock");
  expect(loaded.sources.socket!.where).toBe("CODER_AGENT_BOUNDARY_LOG_PROXY_SOCKET_PATH");
  expect(load(["--config", file], { TMPDIR: "/tmpdir" }).config.socket).toBe("/from/file.sock");
  expect(load([], { TMPDIR: "/tmpdir" }).config.socket).toBe("/tmpdir/boundary-audit.sock");
  expect(load([], {}).config.socket).toBe("/tmp/boundary-audit.sock");
});

test("socket_mode, queue bounds and http_listen parse from every source", () => {
  const file = fileWith(JSON.stringify({ socket_mode: "0660", queue_max_bytes: "1MiB", http_listen: "127.0.0.1:9000" }), "agent.json");
  const fromFile = load(["--config", file]).config;
  expect(fromFile.socket_mode).toBe(0o660);
  expect(fromFile.queue_max_bytes).toBe(1024 * 1024);
  expect(fromFile.http_listen).toEqual({ hostname: "127.0.0.1", port: 9000 });
  const fromEnv = load(["--config", file], { BOUNDARY_RELAY_SOCKET_MODE: "0640", BOUNDARY_RELAY_QUEUE_MAX_RECORDS: "7" }).config;
  expect(fromEnv.socket_mode).toBe(0o640);
  expect(fromEnv.queue_max_records).toBe(7);
  const defaults = load([]).config;
  expect(defaults.socket_mode).toBe(0o600);
  expect(defaults.output).toBe("auto");
  expect(defaults.queue_max_records).toBe(100_000);
});

test("an unknown key in the config file is an error naming the file and key", () => {
  const file = fileWith("socket: /x.sock\nsockt_mode: '0600'\n");
  const found = issues(() => load(["--config", file]));
  expect(found).toEqual([{ field: "sockt_mode", where: `${file}: sockt_mode`, message: "unknown key" }]);
});

test("every invalid value is reported with its field and source", () => {
  const file = fileWith("queue_max_bytes: lots\n");
  const found = issues(() =>
    load(["--config", file, "--socket-mode", "999", "--output", "kafka"], { BOUNDARY_RELAY_HTTP_LISTEN: "localhost" }),
  );
  const where = Object.fromEntries(found.map((i) => [i.field, i.where]));
  expect(where).toEqual({
    socket_mode: "--socket-mode",
    output: "--output",
    http_listen: "BOUNDARY_RELAY_HTTP_LISTEN",
    queue_max_bytes: `${file}: queue_max_bytes`,
  });
  for (const i of found) expect(i.message.length).toBeGreaterThan(0);
});

test("unknown flags are errors", () => {
  const found = issues(() => load(["--sokcet", "/x"]));
  expect(found[0]!.field).toBe("--sokcet");
});

test("config check applies the agent's start-up rules across fields: coderd output needs a token", async () => {
  const missing = await runCli(["config", "check", "--role", "agent", "--coderd-url", "http://127.0.0.1:9"], { CODER_AGENT_TOKEN: "", BOUNDARY_RELAY_AGENT_TOKEN: "" });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("agent_token");
  const ok = await runCli(["config", "check", "--role", "agent", "--coderd-url", "http://127.0.0.1:9", "--agent-token", "secret-token-value"]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain("agent_token: [redacted]");
  expect(ok.stdout).not.toContain("secret-token-value");
});

test("socket_mode in YAML: unquoted 0644 (YAML 1.1 octal), 0o644, 644 and \"0644\" all mean rw-r--r--", () => {
  for (const text of ["0644", "0o644", "644", '"0644"', "'644'"]) {
    const file = fileWith(`socket_mode: ${text}\n`);
    expect([text, load(["--config", file]).config.socket_mode]).toEqual([text, 0o644]);
  }
  expect(load(["--config", fileWith('{"socket_mode": 660}', "agent.json")]).config.socket_mode).toBe(0o660);
});

test("socket_mode that is no octal mode is refused naming the field, from a file as from a flag", () => {
  for (const text of ["0648", "420.5", "99999", "0x1a4", "-644", "rw-r--r--"]) {
    const [issue] = issues(() => load(["--config", fileWith(`socket_mode: ${text}\n`)]));
    expect([text, issue!.field, issue!.message]).toEqual([text, "socket_mode", expect.stringContaining("octal file mode")]);
  }
});

test("numbers in a file reach every kind as written: durations in ms, sizes, ints, secrets of digits", () => {
  const file = fileWith("batch_delay: 250\nqueue_max_bytes: 1048576\nmax_in_flight: 12\nagent_token: 1234567890123456\n");
  const { config } = load(["--config", file]);
  expect([config.batch_delay, config.queue_max_bytes, config.max_in_flight, config.agent_token]).toEqual([250, 1048576, 12, "1234567890123456"]);
});
