// `boundary-relay config check --role agent|coderd [options]`: prints the
// role's effective configuration with secrets redacted and each value's
// source, or every error with its field and source (exit 2).
import { type AgentConfig, agentOptions } from "../config/agent.ts";
import { checkOutputConfig } from "../agent/outputs/select.ts";
import { coderdOptions } from "../config/coderd.ts";
import { describeConfig, loadConfig, type OptionSpec } from "../config/load.ts";
import { type Env, EXIT_OK, EXIT_USAGE, wantsHelp } from "./exit.ts";

interface Role {
  options: (env: Env) => OptionSpec[];
  /** Rules across fields that the role checks at start-up, beyond each field's own. */
  check?: (config: never) => unknown;
}

const ROLES: Record<string, Role> = {
  agent: { options: agentOptions, check: (config: AgentConfig) => checkOutputConfig(config) },
  coderd: { options: coderdOptions },
};

const HELP = `usage: boundary-relay config check --role agent|coderd [the role's options]

Validates a role's configuration from flags, environment, --config file and
defaults. Prints the effective values (secrets redacted) with where each
came from, or every error naming its field and source (exit 2).
`;

export async function main(argv: string[], env: Env): Promise<number> {
  if (wantsHelp(argv, HELP)) return EXIT_OK;
  const [sub, ...rest] = argv;
  const roleAt = rest.findIndex((a) => a === "--role" || a.startsWith("--role="));
  const role = roleAt === -1 ? undefined : rest[roleAt]!.includes("=") ? rest[roleAt]!.split("=")[1] : rest[roleAt + 1];
  if (sub !== "check" || !role || !ROLES[role]) {
    process.stderr.write(HELP);
    return EXIT_USAGE;
  }
  const roleArgs = rest.filter((_, i) => i !== roleAt && !(i === roleAt + 1 && !rest[roleAt]!.includes("=")));
  const { options, check } = ROLES[role]!;
  const specs = options(env);
  const loaded = loadConfig(specs, { argv: roleArgs, env });
  check?.(loaded.config as never);
  process.stdout.write(`# boundary-relay ${role}: configuration is valid\n${describeConfig(specs, loaded)}\n`);
  return EXIT_OK;
}
