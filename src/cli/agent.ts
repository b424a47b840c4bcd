// `boundary-relay agent`: boundary's socket, the queue, the output and the
// HTTP face. Prints one startup line to stderr; on SIGTERM/SIGINT stops
// accepting, drains the queue into the output and exits 0 (a second
// signal exits 1 at once).
import { agentOptionTable } from "../config/agent.ts";
import { formatListen } from "../config/kinds.ts";
import { helpText, loadOptions, optionList } from "../config/load.ts";
import { startAgent } from "../agent/agent.ts";
import { resolveOutputKind } from "../agent/outputs/select.ts";
import { onSignal } from "../runtime/adapter.ts";
import { namingListenFlag, usageErrorOf } from "./errors.ts";
import { type Env, EXIT_FAILURE, EXIT_OK, wantsHelp } from "./exit.ts";

const USAGE = "boundary-relay agent [options]";
const SUMMARY = `Runs in the workspace: listens on boundary's Unix socket, validates and queues
its audit records, and delivers them (--output). Serves /healthz, /readyz and
/metrics on --http-listen. SIGTERM/SIGINT drain the queue, then exit 0.`;

export async function main(argv: string[], env: Env): Promise<number> {
  const table = agentOptionTable(env);
  if (wantsHelp(argv, helpText(USAGE, SUMMARY, optionList(table)))) return EXIT_OK;
  const { config, sources } = loadOptions(table, { argv, env });
  const agent = await namingListenFlag("--http-listen", formatListen(config.http_listen), () => startAgent(config)).catch((err: unknown) => {
    throw usageErrorOf(err, sources);
  });
  const mode = `0${config.socket_mode.toString(8)}`;
  return await new Promise<number>((resolve) => {
    let signalled = false;
    const onStop = (signal: string) => {
      if (signalled) {
        process.stderr.write(`boundary-relay agent: second ${signal}, exiting without draining\n`);
        process.exit(EXIT_FAILURE);
      }
      signalled = true;
      process.stderr.write(`boundary-relay agent: ${signal}: draining and stopping\n`);
      agent.stop().then(
        () => resolve(EXIT_OK),
        (err) => {
          process.stderr.write(`boundary-relay agent: stop failed: ${(err as Error).message}\n`);
          resolve(EXIT_FAILURE);
        },
      );
    };
    onSignal("SIGTERM", () => onStop("SIGTERM"));
    onSignal("SIGINT", () => onStop("SIGINT"));
    // Only now: a supervisor may signal as soon as it reads this line, and must find the handlers in place.
    process.stderr.write(
      `boundary-relay agent: listening on socket ${config.socket} (mode ${mode}), http http://${formatListen(agent.http)}, output ${resolveOutputKind(config)}\n`,
    );
  });
}
