// `boundary-relay coderd`: the central server. SIGHUP reloads
// --agents-file; SIGTERM/SIGINT stop after in-flight requests finish.
import { coderdOptionTable } from "../config/coderd.ts";
import { helpText, loadOptions, optionList } from "../config/load.ts";
import { redactUrlPasswords } from "../config/redact.ts";
import { onSignal } from "../runtime/adapter.ts";
import { startCoderd } from "../coderd/server.ts";
import { formatListen } from "../config/kinds.ts";
import { namingListenFlag, usageErrorOf } from "./errors.ts";
import { type Env, EXIT_OK, wantsHelp } from "./exit.ts";

const USAGE = "boundary-relay coderd [options]";
const SUMMARY =
  "Central server: authenticates agents, de-duplicates and stores their boundary records, writes one\n" +
  "boundary_request line per record to stderr, and serves the query API, /healthz, /readyz and /metrics.";

export async function main(argv: string[], env: Env): Promise<number> {
  const table = coderdOptionTable(env);
  if (wantsHelp(argv, helpText(USAGE, SUMMARY, optionList(table)))) return EXIT_OK;
  const { config, sources } = loadOptions(table, { argv, env });
  const server = await namingListenFlag("--http-listen", formatListen(config.http_listen), () => startCoderd({ config })).catch((err: unknown) => {
    throw usageErrorOf(err, sources);
  });
  onSignal("SIGHUP", () => server.reloadIdentities());
  const stopSignal = new Promise<void>((resolve) => {
    onSignal("SIGTERM", resolve);
    onSignal("SIGINT", resolve);
  });
  // After the handlers: a supervisor may signal as soon as it reads this line.
  process.stderr.write(`boundary-relay coderd: listening on ${server.url} (store ${redactUrlPasswords(config.db)})\n`);
  await stopSignal;
  await server.stop();
  process.stderr.write("boundary-relay coderd: stopped\n");
  return EXIT_OK;
}
