// `boundary-relay coderd`: the central server. SIGHUP reloads
// --agents-file; SIGTERM/SIGINT stop after in-flight requests finish.
import { coderdOptions, type CoderdConfig } from "../config/coderd.ts";
import { ConfigError, helpText, loadConfig, type Sourced } from "../config/load.ts";
import { AgentsFileError } from "../coderd/identities/schema.ts";
import { StoreError } from "../coderd/store/errors.ts";
import { onSignal } from "../runtime/adapter.ts";
import { startCoderd } from "../coderd/server.ts";
import { type Env, EXIT_OK, wantsHelp } from "./run.ts";

const USAGE = "boundary-relay coderd [options]";
const SUMMARY =
  "Central server: authenticates agents, de-duplicates and stores their boundary records, writes one\n" +
  "boundary_request line per record to stderr, and serves the query API, /healthz, /readyz and /metrics.";

export async function main(argv: string[], env: Env): Promise<number> {
  const specs = coderdOptions(env);
  if (wantsHelp(argv, helpText(USAGE, SUMMARY, specs))) return EXIT_OK;
  const { config, sources } = loadConfig<CoderdConfig>(specs, { argv, env });
  const server = await startCoderd({ config }).catch((err: unknown) => {
    throw usageErrorOf(err, sources);
  });
  process.stderr.write(`boundary-relay coderd: listening on ${server.url} (store ${config.db})\n`);
  onSignal("SIGHUP", () => server.reloadIdentities());
  await new Promise<void>((resolve) => {
    onSignal("SIGTERM", resolve);
    onSignal("SIGINT", resolve);
  });
  await server.stop();
  process.stderr.write("boundary-relay coderd: stopped\n");
  return EXIT_OK;
}

/**
 * Start-up failures that are the user's configuration become ConfigError
 * (exit 2, naming the field): a --db location that cannot hold a store, an
 * invalid agents file. Anything else stays as it is (exit 1).
 */
export function usageErrorOf(err: unknown, sources: Record<string, Sourced>): unknown {
  if (err instanceof StoreError && err.failure === "bad_location") {
    return new ConfigError([{ field: "db", where: sources.db?.where ?? "--db", message: err.message }]);
  }
  if (err instanceof AgentsFileError) return new ConfigError(err.issues);
  return err;
}
