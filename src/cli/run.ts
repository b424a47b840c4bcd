// Command dispatch: finds the command, runs it, and turns a configuration
// error into exit code 2 with every problem listed.
import { ConfigError } from "../config/load.ts";
import { reexecWithJscRamSize } from "../runtime/adapter.ts";
import { AGENT_RAM_SIZE_BYTES } from "../runtime/jsc-heap.ts";
import { type Env, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./exit.ts";

export type CommandMain = (argv: string[], env: Env) => Promise<number>;

interface Command {
  summary: string;
  load: () => Promise<{ main: CommandMain }>;
  /**
   * The RAM size JavaScriptCore's heap heuristics should assume: the
   * command re-executes itself with it before loading anything else
   * (runtime/jsc-heap.ts).
   */
  jscRamBytes?: number;
}

const COMMANDS: Record<string, Command> = {
  agent: { summary: "in the workspace: boundary's socket, forwarding to coderd", load: () => import("./agent.ts"), jscRamBytes: AGENT_RAM_SIZE_BYTES },
  coderd: { summary: "central: ingest RPC, emission, store, query API", load: () => import("./coderd.ts") },
  dev: { summary: "coderd and agent together on embedded defaults", load: () => import("./dev.ts") },
  send: { summary: "write audit records into an agent socket (demo, load generator)", load: () => import("./send.ts") },
  config: { summary: "config check --role agent|coderd: validate and print a role's configuration", load: () => import("./config-check.ts") },
  version: { summary: "version, commit and runtime", load: () => import("./version.ts") },
};

export function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `usage: boundary-relay COMMAND [options]\n\ncommands:\n${rows.join("\n")}\n\nRun 'boundary-relay COMMAND --help' for a command's options.\n`;
}

export async function runCli(argv: string[], env: Env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "--version") return runCli(["version"], env);
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`boundary-relay: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (command.jscRamBytes) {
    const failed = await reexecWithJscRamSize(command.jscRamBytes); // returns only when no exec happened
    if (failed) process.stderr.write(`boundary-relay ${name}: warning: the runtime's default heap sizing stays: ${failed}\n`);
  }
  try {
    return await (await command.load()).main(rest, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`boundary-relay ${name}: invalid configuration:\n${indent(err.message)}\n`);
      return EXIT_USAGE;
    }
    // One clear line; the stack only when asked for (BOUNDARY_RELAY_DEBUG=1).
    const detail = err instanceof Error ? (env.BOUNDARY_RELAY_DEBUG ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`boundary-relay ${name}: ${detail}\n`);
    return EXIT_FAILURE;
  }
}

export function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
