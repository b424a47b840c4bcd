// `boundary-relay dev`: the main job on embedded defaults in one command.
// Starts coderd on a SQLite file in a state folder, makes (once) a
// development agent identity, starts the agent on boundary's default
// socket forwarding to that coderd, and prints where everything is.
// --demo also sends a demo session. Ctrl-C stops both cleanly.
import { join } from "node:path";
import { existsSync, readdirSync } from "node:fs";
import { startAgent } from "../agent/agent.ts";
import { runDemoSession } from "../dev/demo.ts";
import { type DevState, openDevState } from "../dev/state.ts";
import { agentOptionTable, type AgentConfig } from "../config/agent.ts";
import { coderdOptionTable, type CoderdConfig, LOG_FORMATS } from "../config/coderd.ts";
import { formatListen as addr, kinds } from "../config/kinds.ts";
import { type ConfigOf, ConfigError, helpText, loadOptions, type OptionTable, optionList, type Sourced } from "../config/load.ts";
import { defaultSocketPath, stateDir } from "../config/paths.ts";
import { redactUrlPasswords } from "../config/redact.ts";
import { startCoderd } from "../coderd/server.ts";
import { onSignal } from "../runtime/adapter.ts";
import { namingListenFlag, usageErrorOf } from "./errors.ts";
import { type Env, EXIT_OK, wantsHelp } from "./exit.ts";

export function devOptionTable(env: Env) {
  return {
    state_dir: { schema: kinds.string().min(1), default: join(stateDir(env), "dev"), help: "folder for the database, spool, agents file and tokens (made once, then reused)" },
    socket: { schema: kinds.string().min(1), default: defaultSocketPath(env), env: ["CODER_AGENT_BOUNDARY_LOG_PROXY_SOCKET_PATH"], help: "Unix socket boundary writes to" },
    coderd_listen: { schema: kinds.listen(), default: "127.0.0.1:8477", help: "coderd's HTTP address (ingest RPC, query API, metrics)" },
    agent_listen: { schema: kinds.listen(), default: "127.0.0.1:8478", help: "the agent's HTTP address (/healthz, /readyz, /metrics)" },
    log_format: { schema: kinds.enumOf(LOG_FORMATS), default: "text", help: "format of coderd's boundary_request lines on stderr" },
    db: { schema: kinds.string().regex(/^(|sqlite:.+|postgres(ql)?:\/\/.*)$/, "must be sqlite:PATH or postgres://…"), default: "", help: "store: empty for SQLite in the state folder, or sqlite:PATH, or postgres://user:password@host:port/database" },
    demo: { schema: kinds.bool(), default: false, boolean: true, help: "also send a demo session of allowed and denied requests" },
  } satisfies OptionTable;
}

type DevConfig = ConfigOf<ReturnType<typeof devOptionTable>>;

const USAGE = "boundary-relay dev [options]";
const SUMMARY = `Runs coderd and the agent together on embedded defaults: SQLite in the state
folder, a generated development agent token, boundary's default socket.
Records an earlier run left in the spool are delivered first; then it prints
the socket, metrics, query API and database. SIGINT/SIGTERM stop both.`;


/** A role's config from its own option table: defaults plus the given flags. */
function roleConfig<T extends OptionTable>(table: T, argv: string[]): ConfigOf<T> {
  return loadOptions(table, { argv, env: {} }).config;
}

function coderdConfig(dev: DevConfig, state: DevState, env: Env): CoderdConfig {
  return roleConfig(coderdOptionTable(env), [
    "--http-listen", addr(dev.coderd_listen),
    "--db", dbOf(dev, state),
    "--agents-file", state.agentsFile,
    "--admin-token-file", state.adminTokenFile,
    "--log-format", dev.log_format,
  ]);
}

/** --db as given, else the SQLite file in the state folder. */
const dbOf = (dev: DevConfig, state: DevState) => dev.db || `sqlite:${state.dbPath}`;

function agentConfig(dev: DevConfig, state: DevState, coderdUrl: string, env: Env): AgentConfig {
  return roleConfig(agentOptionTable(env), [
    "--socket", dev.socket,
    "--http-listen", addr(dev.agent_listen),
    "--output", "coderd",
    "--coderd-url", coderdUrl,
    "--agent-token-file", state.agentTokenFile,
    "--spool-dir", state.spoolDir,
  ]);
}

function banner(dev: DevConfig, state: DevState, coderdUrl: string, agentUrl: string): string {
  return [
    `boundary-relay dev: coderd and agent are up${state.created ? " (new development identity made)" : ""}`,
    `  boundary socket  ${dev.socket}`,
    `  run boundary     boundary --log-proxy-socket-path ${dev.socket} -- claude`,
    `  agent metrics    ${agentUrl}/metrics   (ready: ${agentUrl}/readyz)`,
    `  coderd metrics   ${coderdUrl}/metrics`,
    `  query API        curl -H "Authorization: Bearer $(cat ${state.adminTokenFile})" ${coderdUrl}/api/v2/boundary/logs`,
    `  database         ${dev.db ? redactUrlPasswords(dev.db) : state.dbPath}`,
    `  boundary_request lines follow on stderr; Ctrl-C stops both.`,
    "",
  ].join("\n");
}

/** Longest wait for an earlier run's spooled records before the banner is printed anyway. */
const STARTUP_DELIVERY_WAIT_MS = 10_000;

/** Files in the spool directory before the agent starts: what an earlier run left undelivered. */
function spoolFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
}

/**
 * Resolves once every file an earlier run left in the spool is gone (the
 * spool deletes a segment once coderd acknowledged all of it; new records
 * go to fresh segments), or after `maxMs`.
 */
async function earlierRecordsDelivered(files: string[], maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (files.some((f) => existsSync(f)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** The state folder, or a ConfigError naming --state-dir when it cannot be made. */
function openedState(dir: string, sources: Record<string, Sourced>): DevState {
  try {
    return openDevState(dir);
  } catch (err) {
    const where = sources.state_dir?.where ?? "--state-dir";
    throw new ConfigError([{ field: "state_dir", where, message: `cannot create ${dir}: ${err instanceof Error ? err.message : String(err)}` }]);
  }
}

export async function main(argv: string[], env: Env): Promise<number> {
  const table = devOptionTable(env);
  if (wantsHelp(argv, helpText(USAGE, SUMMARY, optionList(table)))) return EXIT_OK;
  const { config: dev, sources } = loadOptions(table, { argv, env });
  const state = openedState(dev.state_dir, sources);
  const earlier = spoolFiles(state.spoolDir);
  const coderd = await namingListenFlag("--coderd-listen", addr(dev.coderd_listen), () => startCoderd({ config: coderdConfig(dev, state, env) }));
  let agent;
  try {
    agent = await namingListenFlag("--agent-listen", addr(dev.agent_listen), () => startAgent(agentConfig(dev, state, coderd.url, env)));
  } catch (err) {
    await coderd.stop();
    throw usageErrorOf(err, sources);
  }
  // Records left in the spool by an earlier run are delivered (and printed) first,
  // so the banner comes last and stays in view.
  await earlierRecordsDelivered(earlier, STARTUP_DELIVERY_WAIT_MS);
  const stopSignal = new Promise<string>((resolve) => {
    onSignal("SIGINT", () => resolve("SIGINT"));
    onSignal("SIGTERM", () => resolve("SIGTERM"));
  });
  // After the handlers: Ctrl-C (or a test) may come as soon as the banner is read.
  process.stderr.write(banner(dev, state, coderd.url, `http://${addr(agent.http)}`));
  if (dev.demo) void runDemoSession(dev.socket, (line) => process.stderr.write(`${line}\n`));
  const signal = await stopSignal;
  process.stderr.write(`boundary-relay dev: ${signal}: stopping the agent, then coderd\n`);
  await agent.stop();
  await coderd.stop();
  process.stderr.write("boundary-relay dev: stopped\n");
  return EXIT_OK;
}
