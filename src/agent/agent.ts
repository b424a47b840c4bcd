// The agent put together: metrics, output, queue, boundary's socket and the
// HTTP face. startAgent() returns a handle whose stop() shuts down in order:
// stop accepting, drain the queue into the output, close the output, stop
// HTTP. Used by `boundary-relay agent`, by tests, and later by `dev`.
import type { Writable } from "node:stream";
import type { AgentConfig } from "../config/agent.ts";
import { type HttpServer, serveHttp } from "../runtime/adapter.ts";
import { createAgentHttpApp } from "./http.ts";
import { type AgentMetrics, createAgentMetrics } from "./metrics.ts";
import type { RecordOutput } from "./output.ts";
import { openExecOutput, resolveOutputKind, selectOutput } from "./outputs/select.ts";
import { openLeftoverExecs, type ProcessLog, startProcessLog } from "./process-log.ts";
import { BatchQueue } from "./queue.ts";
import { SocketServer } from "./socket-server.ts";

export interface AgentDeps {
  /** Use this output instead of the one --output selects. */
  output?: RecordOutput;
  /** Stream for --output stdout (default process.stdout). */
  stdout?: Writable;
  now?: () => Date;
  /** Warnings; default stderr. */
  log?: (line: string) => void;
}

export interface AgentHandle {
  config: AgentConfig;
  metrics: AgentMetrics;
  socket: SocketServer;
  queue: BatchQueue;
  output: RecordOutput;
  /** The exec source (--process-log), null when off or unavailable under optional. */
  processLog: ProcessLog | null;
  http: { hostname: string; port: number };
  /** Stops accepting, delivers what is queued within shutdown_timeout, stops. Idempotent. */
  stop(): Promise<void>;
}

const stderrLog = (line: string) => void process.stderr.write(`boundary-relay agent: ${line}\n`);

export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<AgentHandle> {
  const log = deps.log ?? stderrLog;
  const metrics = createAgentMetrics();
  const output = deps.output ?? (await selectOutput(config, { metrics, stdout: deps.stdout, now: deps.now, log }));
  const queue = new BatchQueue({
    maxRecords: config.queue_max_records,
    maxBytes: config.queue_max_bytes,
    metrics,
    log,
    onRoom: () => socket.resumeReading(),
  });
  queue.start(output);
  const socket: SocketServer = new SocketServer({
    path: config.socket,
    mode: config.socket_mode,
    metrics,
    accept: (b) => queue.push(b),
    keepDecoded: output.takes !== "encoded",
    maxConnections: config.max_connections,
    idleTimeoutMs: config.socket_idle_timeout,
    log,
  });
  try {
    await socket.start();
  } catch (err) {
    await output.close(Date.now());
    throw err;
  }
  let processLog: ProcessLog | null;
  /** The exec spool's forwarder alone, for what a previous run left when this one logs no processes. */
  let leftoverExecs: RecordOutput | null = null;
  try {
    const processDeps = { metrics, output: resolveOutputKind(config), openCoderd: () => openExecOutput(config, { metrics, log }), stdout: deps.stdout, now: deps.now, log };
    processLog = await startProcessLog(config, processDeps);
    if (!processLog) leftoverExecs = await openLeftoverExecs(config, processDeps);
  } catch (err) {
    await socket.stop();
    await output.close(Date.now());
    throw err;
  }
  let http: HttpServer;
  try {
    const app = createAgentHttpApp({
      registry: metrics.registry,
      notReadyReason: () => socket.problem() ?? output.notReadyReason() ?? processLog?.notReadyReason() ?? null,
      details: () => [
        `socket: ${config.socket} (${socket.listening ? "listening" : "not listening"})`,
        ...(output.readinessDetails?.() ?? []),
        ...(processLog?.readinessDetails() ?? []),
      ],
    });
    http = await serveHttp({ hostname: config.http_listen.hostname, port: config.http_listen.port, fetch: app.fetch });
  } catch (err) {
    await processLog?.stop();
    await leftoverExecs?.close(Date.now());
    await socket.stop();
    await output.close(Date.now());
    throw new Error(`cannot serve HTTP on ${config.http_listen.hostname}:${config.http_listen.port}: ${(err as Error).message}`, { cause: err });
  }

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      const deadline = Date.now() + config.shutdown_timeout;
      const execsDelivered = processLog?.stop(deadline);
      // Read what boundary already wrote (at most a second of the budget).
      await socket.stop(Math.min(deadline, Date.now() + 1000));
      if (!(await queue.idle(deadline))) {
        metrics.logsDropped.inc({ reason: "shutdown" }, queue.records);
        log(`warn: shutdown_timeout reached with ${queue.records} records still queued (not spooled or written): dropped`);
      }
      await Promise.all([output.close(deadline), execsDelivered, leftoverExecs?.close(deadline)]);
      await http.stop(true);
    })();
    return stopping;
  };
  return { config, metrics, socket, queue, output, processLog, http: { hostname: http.hostname, port: http.port }, stop };
}
