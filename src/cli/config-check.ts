// `boundary-relay config check --role agent|coderd [options]`: prints the
// role's effective configuration with secrets redacted and each value's
// source, or every error with its field and source (exit 2). It applies
// exactly the role's start-up rules: the same functions start-up runs
// (checkOutputConfig for the agent, resolveCoderdSettings for coderd), and
// what start-up does to the paths the options name (the socket's and the
// spool's directories, the database's), tried and undone.
import { agentOptionTable } from "../config/agent.ts";
import { probeOutputConfig } from "../agent/outputs/select.ts";
import { probeSocketPath } from "../agent/socket-file.ts";
import { coderdOptionTable } from "../config/coderd.ts";
import { resolveCoderdSettings } from "../coderd/settings.ts";
import { type ConfigOf, ConfigError, describeConfig, type Loaded, loadOptions, type OptionSpec, type OptionTable, optionList } from "../config/load.ts";
import { usageError, usageErrorOf } from "./errors.ts";
import { type Env, EXIT_OK, wantsHelp } from "./exit.ts";

interface Role {
  /** Loads the role's options, then applies its start-up rules across fields. */
  check: (argv: string[], env: Env) => { specs: OptionSpec[]; loaded: Loaded<unknown> };
}

function role<T extends OptionTable>(options: (env: Env) => T, startupRules: (config: ConfigOf<T>) => unknown): Role {
  return {
    check(argv, env) {
      const table = options(env);
      const loaded = loadOptions(table, { argv, env });
      try {
        startupRules(loaded.config);
      } catch (err) {
        throw usageErrorOf(err, loaded.sources);
      }
      return { specs: optionList(table), loaded };
    },
  };
}

const ROLES: Record<string, Role> = {
  agent: role(agentOptionTable, (config) => {
    probeSocketPath(config.socket);
    probeOutputConfig(config);
  }),
  coderd: role(coderdOptionTable, (config) => resolveCoderdSettings(config, { probeStore: true })),
};

const HELP = `usage: boundary-relay config check --role agent|coderd [the role's options]

Validates a role's configuration from flags, environment, --config file and
defaults, with the same rules the role applies when it starts (files it
reads included). Prints the effective values (secrets redacted) with where
each came from, or every error naming its field and source (exit 2).
`;

/** The --role value and the remaining arguments. */
function splitRole(argv: string[]): { role: string | undefined; rest: string[] } {
  const at = argv.findIndex((a) => a === "--role" || a.startsWith("--role="));
  if (at === -1) return { role: undefined, rest: argv };
  const inline = argv[at]!.startsWith("--role=");
  const role = inline ? argv[at]!.slice("--role=".length) : argv[at + 1];
  return { role, rest: argv.filter((_, i) => i !== at && (inline || i !== at + 1)) };
}

export async function main(argv: string[], env: Env): Promise<number> {
  if (wantsHelp(argv, HELP)) return EXIT_OK;
  const [sub, ...args] = argv;
  if (sub !== "check") {
    throw usageError("subcommand", `${sub === undefined ? "missing" : `unknown subcommand ${JSON.stringify(sub)}`}: the only one is check (see --help)`);
  }
  const { role, rest } = splitRole(args);
  if (role === undefined || !ROLES[role]) {
    const known = Object.keys(ROLES).join(" or ");
    const problem = role === undefined ? `--role is required (${known})` : `unknown role ${JSON.stringify(role)}: the roles are ${known}`;
    throw new ConfigError([{ field: "role", where: "--role", message: problem }]);
  }
  const { specs, loaded } = ROLES[role]!.check(rest, env);
  process.stdout.write(`# boundary-relay ${role}: configuration is valid\n${describeConfig(specs, loaded)}\n`);
  return EXIT_OK;
}
