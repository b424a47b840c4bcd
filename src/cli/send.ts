// `boundary-relay send`: writes audit records into an agent's socket the
// way boundary does. Records from the command line, --demo samples, or a
// load generator (--count, --rate, --sessions) that prints a summary.
import { BoundaryClient, type ClientRecord, SocketUnreachableError } from "../client/client.ts";
import { type LoadOptions, runLoad } from "../client/load.ts";
import { DEMO_PROCESS_NAME, demoRecords, parseRecord, RecordSyntaxError } from "../client/records.ts";
import { defaultSocketPath } from "../config/paths.ts";
import { kinds } from "../config/kinds.ts";
import { type ConfigOf, helpText, loadOptions, type OptionTable, optionList } from "../config/load.ts";
import { usageError } from "./errors.ts";
import { type Env, EXIT_FAILURE, EXIT_OK, wantsHelp } from "./exit.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function sendOptionTable(env: Env) {
  return {
    socket: { schema: kinds.string().min(1), default: defaultSocketPath(env), env: ["CODER_AGENT_BOUNDARY_LOG_PROXY_SOCKET_PATH"], help: "the agent's Unix socket" },
    session_id: { schema: kinds.string().refine((s) => s === "" || UUID.test(s), { message: "is not a UUID" }), default: "", help: "session UUID (default: a new random one)" },
    process_name: { schema: kinds.string(), default: DEMO_PROCESS_NAME, help: "confined_process_name of the session" },
    demo: { schema: kinds.bool(), default: false, boolean: true, help: "send a realistic mix of allowed and denied requests" },
    count: { schema: kinds.int(0, 1_000_000_000), default: 0, help: "load generator: records to send in total" },
    rate: { schema: kinds.int(0, 100_000_000), default: 0, help: "load generator: records per second over all sessions (0 = as fast as possible)" },
    sessions: { schema: kinds.int(1, 10_000), default: 1, help: "load generator: sessions, each its own connection, session UUID and sequence numbers from 0" },
    batch_size: { schema: kinds.int(1, 1000), default: 10, help: "records per frame (boundary: 10)" },
    flush_interval: { schema: kinds.duration(), default: "5s", help: "flush a batch this long after its first record; retry interval (boundary: 5s)" },
    channel_size: { schema: kinds.int(1, 1_000_000), default: 20, help: "records buffered before dropping (boundary: 20)" },
  } satisfies OptionTable;
}

type SendConfig = ConfigOf<ReturnType<typeof sendOptionTable>>;

const USAGE = "boundary-relay send [options] [RECORD...]";
const SUMMARY = `Writes audit records into an agent's socket, batched and framed like boundary.

A RECORD is DECISION:METHOD:URL[:RULE]
  allow:GET:https://github.com/coder/boundary:domain=github.com
  deny:POST:https://pastebin.com/api/api_post.php
DECISION is allow or deny. RULE (allowed records only) is the text after the
last ':' when it starts with word= (domain=x, method=GET domain=x).

--demo sends a realistic mix of allowed and denied requests.
--count N [--rate R] [--sessions S] is a load generator: S connections, each
its own session, N records in total at R records/s; prints progress to stderr
every second and a summary at the end. --session-id works with one session.

Refuses at once (exit 1) when no agent listens on --socket. Exit 0 when
every record was sent; else 1, with what became of each record not sent.`;

export async function main(argv: string[], env: Env): Promise<number> {
  const table = sendOptionTable(env);
  if (wantsHelp(argv, helpText(USAGE, SUMMARY, optionList(table)))) return EXIT_OK;
  const { config, positionals } = loadOptions(table, { argv, env, positionals: true });
  const clientOpts = {
    socketPath: config.socket,
    confinedProcessName: config.process_name,
    batchSize: config.batch_size,
    flushInterval: config.flush_interval,
    channelSize: config.channel_size,
  };
  let records: ClientRecord[] = [];
  if (config.count > 0) {
    if (positionals.length > 0 || config.demo) throw usageError("records", "--count is the load generator; it takes no RECORD arguments or --demo");
    if (config.session_id && config.sessions > 1) throw usageError("session_id", "--session-id names one session; with --sessions above 1 each session gets its own UUID");
  } else {
    if (config.rate > 0 || config.sessions > 1) throw usageError("count", "--rate and --sessions need --count");
    records = parseAll(positionals);
    if (config.demo) records.push(...demoRecords());
    if (records.length === 0) throw usageError("records", "give RECORD arguments, --demo, or --count (see --help)");
  }
  try {
    return config.count > 0 ? await load(config, clientOpts) : await sendRecords(config, clientOpts, records);
  } catch (err) {
    if (!(err instanceof SocketUnreachableError)) throw err;
    const total = config.count > 0 ? config.count : records.length;
    process.stderr.write(
      `boundary-relay send: no agent is listening on ${config.socket} (${err.code}); nothing was sent (0 of ${total} records).\n` +
        `  Start one first: boundary-relay dev (or boundary-relay agent), or point --socket at the agent's socket.\n`,
    );
    return EXIT_FAILURE;
  }
}

type ClientOpts = Omit<LoadOptions, "count" | "rate" | "sessions">;

async function sendRecords(config: SendConfig, clientOpts: ClientOpts, records: ClientRecord[]): Promise<number> {
  const client = new BoundaryClient({ ...clientOpts, sessionId: config.session_id || undefined });
  await client.open();
  for (const r of records) await client.send(r);
  const unsent = await client.close();
  const allowed = records.filter((r) => r.allowed).length;
  process.stdout.write(
    `sent ${client.stats.sent} of ${records.length} records (${allowed} allowed, ${records.length - allowed} denied) to ${config.socket}, session ${client.sessionId}\n`,
  );
  const { droppedChannelFull, droppedBatchFull, droppedTooLarge } = client.stats;
  return reportShortfall(config.socket, { total: records.length, sent: client.stats.sent, droppedChannelFull, droppedBatchFull, droppedTooLarge, unsent });
}

async function load(config: SendConfig, clientOpts: ClientOpts): Promise<number> {
  const s = await runLoad({
    ...clientOpts,
    count: config.count,
    rate: config.rate,
    sessions: config.sessions,
    sessionId: config.session_id || undefined,
    onProgress: (p) =>
      process.stderr.write(`boundary-relay send: ${p.sent} of ${config.count} records sent (${p.dropped} dropped) after ${(p.elapsedMs / 1000).toFixed(0)}s\n`),
  });
  const seconds = s.elapsedMs / 1000;
  const dropped = s.droppedChannelFull + s.droppedBatchFull;
  const sessions = config.sessions === 1 ? `1 session (${s.sessionIds[0]})` : `${config.sessions} sessions`;
  process.stdout.write(
    `sent ${s.sent} of ${config.count} records over ${sessions} in ${seconds.toFixed(3)}s ` +
      `(${Math.round(s.sent / Math.max(seconds, 1e-9))} records/s); dropped ${dropped} ` +
      `(channel_full ${s.droppedChannelFull}, batch_full ${s.droppedBatchFull}); unsent ${s.unsent}\n`,
  );
  return reportShortfall(config.socket, { total: config.count, ...s });
}

interface Outcome {
  total: number;
  sent: number;
  droppedChannelFull: number;
  droppedBatchFull: number;
  droppedTooLarge: number;
  unsent: number;
}

/** Accounts for every record not sent (the parts add up to the total); exit 1 when any was not. */
function reportShortfall(socket: string, o: Outcome): number {
  if (o.sent === o.total) return EXIT_OK;
  const parts = [
    [o.unsent, "could not be written (the agent stopped answering)"],
    [o.droppedBatchFull, "were dropped while a failed batch waited for its retry (batch_full)"],
    [o.droppedChannelFull, "were dropped with the channel full (channel_full)"],
    [o.droppedTooLarge, "are too large for a frame (32 KiB) and were dropped"],
  ] as const;
  const lines = parts.filter(([n]) => n > 0).map(([n, what]) => `  ${n} ${what}`);
  process.stderr.write(`boundary-relay send: ${o.total - o.sent} of ${o.total} records were not sent to ${socket}:\n${lines.join("\n")}\n`);
  return EXIT_FAILURE;
}

function parseAll(texts: string[]): ClientRecord[] {
  try {
    return texts.map(parseRecord);
  } catch (err) {
    if (err instanceof RecordSyntaxError) throw usageError("records", err.message);
    throw err;
  }
}
