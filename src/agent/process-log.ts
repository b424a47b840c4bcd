// The agent's process logging (--process-log): starts the process source
// and hands its exec records to what --output names.
// Guarantees:
// - --process-log on: the agent does not start without the kernel source;
//   the ConfigError (exit 2) names what is missing (capabilities, namespace,
//   not Linux, no FFI); optional: it says why on stderr and runs without;
// - --output stdout: one exec line per record (shared/WIRE.md §6 shape;
//   labels are empty: the agent learns its workspace only from coderd),
//   one write per batch; after stdout failed, records are counted in
//   agent_process_events_dropped_total{reason="stdout_failed"}. The kernel
//   source cannot be paused, so writes do not wait for a slow reader of
//   stdout: what it has not read yet stays in the agent's memory;
// - --output coderd: each kernel batch becomes one ReportProcessLogsRequest
//   and takes the boundary records' path in its own instances: an in-memory
//   BatchQueue, the exec spool (<spool-dir>/exec/, durable before anything
//   else), the forwarder (ReportProcessLogs, retried until coderd has it).
//   Nothing is lost across a coderd outage or an agent restart; every drop
//   (spool full, write failed, damaged, shutdown timeout, refused by coderd)
//   is counted in agent_process_events_dropped_total{reason}. The queue never
//   pushes back (the kernel cannot be paused): a stuck disk grows memory;
// - --output discard: records are counted (agent_process_events_total) only;
// - an exec spool a previous run left is delivered with --output coderd even
//   when this run has no process logging (off, or optional and unavailable):
//   openLeftoverExecs.
import { create, toBinary } from "@bufbuild/protobuf";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { AgentConfig } from "../config/agent.ts";
import { ConfigError } from "../config/load.ts";
import { ReportProcessLogsRequestSchema } from "../gen/boundaryrelay/v1/process_pb.ts";
import { execLabels, formatExecJson, lineRecordOf } from "../process/exec-line.ts";
import { type ExecBatch, ProcessSource } from "../process/source.ts";
import { ProcConnectorError } from "../runtime/proc-connector.ts";
import { type AgentMetrics, execDeliveryMetrics } from "./metrics.ts";
import type { RecordOutput } from "./output.ts";
import { EXEC_SPOOL_DIR } from "./outputs/coderd.ts";
import { BatchQueue } from "./queue.ts";
import { parseSegmentFileName } from "./spool/format.ts";

export interface ProcessLogDeps {
  metrics: AgentMetrics;
  output: "coderd" | "stdout" | "discard";
  /** --output coderd: opens the exec records' spool and forwarder (CoderdOutput.openExec). */
  openCoderd?: () => Promise<RecordOutput>;
  stdout?: Writable;
  now?: () => Date;
  log: (line: string) => void;
}

export interface ProcessLog {
  source: ProcessSource;
  /** null when ready; else why exec records are not reaching coderd. */
  notReadyReason(): string | null;
  readinessDetails(): string[];
  /** Stops the source, spools what is queued and delivers what it can by `deadline` (ms since the epoch). */
  stop(deadline?: number): Promise<void>;
}

/** Where exec records go, and how that ends. */
interface Sink {
  accept(batch: ExecBatch): void;
  output: RecordOutput | null;
  close(deadline: number): Promise<void>;
}

const NO_CLOSE = async () => {};

/** The exec queue → exec spool → forwarder path of --output coderd. */
function coderdSink(output: RecordOutput, deps: ProcessLogDeps): Sink {
  const metrics = execDeliveryMetrics(deps.metrics);
  // Its bounds only mark it full (gauges); nothing upstream can be paused, so push() is never refused.
  const queue = new BatchQueue({ maxRecords: 100_000, maxBytes: 64 << 20, metrics, log: (line) => deps.log(`exec records: ${line}`) });
  queue.start(output);
  return {
    output,
    accept(batch) {
      const encoded = toBinary(ReportProcessLogsRequestSchema, create(ReportProcessLogsRequestSchema, { bootId: batch.bootId, execs: batch.execs }));
      queue.push({ records: batch.execs.length, request: null, encoded, bytes: encoded.length, receivedAt: batch.receivedAt });
    },
    async close(deadline) {
      if (!(await queue.idle(deadline))) {
        metrics.logsDropped.inc({ reason: "shutdown" }, queue.records);
        deps.log(`warn: shutdown_timeout reached with ${queue.records} exec records still queued (not spooled): dropped`);
      }
      await output.close(deadline);
    },
  };
}

function openCoderd(deps: ProcessLogDeps): Promise<RecordOutput> {
  if (!deps.openCoderd) throw new Error("--output coderd needs the exec records' spool (ProcessLogDeps.openCoderd)");
  return deps.openCoderd();
}

function localSink(deps: ProcessLogDeps): Sink {
  return { accept: localAccept(deps), output: null, close: NO_CLOSE };
}

function localAccept(deps: ProcessLogDeps): (batch: ExecBatch) => void {
  const dropped = deps.metrics.processEventsDropped;
  switch (deps.output) {
    case "discard":
    case "coderd": // coderdSink's
      return () => {};
    case "stdout": {
      const stream = deps.stdout ?? (process.stdout as unknown as Writable);
      const now = deps.now ?? (() => new Date());
      const labels = execLabels(null);
      let failed = false;
      stream.on("error", () => {
        failed = true;
      });
      return (batch) => {
        if (failed) return void dropped.inc({ reason: "stdout_failed" }, batch.execs.length);
        const at = now();
        let text = "";
        for (const exec of batch.execs) text += `${formatExecJson(lineRecordOf(exec), labels, at)}\n`;
        stream.write(text);
      };
    }
  }
}

/** Starts process logging as config.process_log says; null when off or (optional and) unavailable. */
export async function startProcessLog(config: AgentConfig, deps: ProcessLogDeps): Promise<ProcessLog | null> {
  if (config.process_log === "off") return null;
  const sink = deps.output === "coderd" ? coderdSink(await openCoderd(deps), deps) : localSink(deps);
  let source: ProcessSource;
  try {
    source = await ProcessSource.start({
      cgroup: config.process_log_cgroup,
      accept: (batch) => sink.accept(batch),
      metrics: { eventsTotal: deps.metrics.processEvents, eventsLost: deps.metrics.processEventsLost, eventsDropped: deps.metrics.processEventsDropped },
      log: deps.log,
    });
  } catch (err) {
    await sink.close(Date.now());
    if (!(err instanceof ProcConnectorError)) throw err;
    if (config.process_log === "on") {
      throw new ConfigError([{ field: "process_log", where: "--process-log on", message: `process logging is unavailable (${err.failure}): ${err.message}` }]);
    }
    deps.log(`warn: --process-log optional: running without process logging (${err.failure}): ${err.message}`);
    return null;
  }
  const scope = config.process_log_cgroup ? `cgroup ${config.process_log_cgroup}` : "the agent's PID namespace";
  const filter = source.execOnly ? "exec events only" : "all events, exec kept (kernel before 6.6)";
  deps.log(`process logging on: ${scope}, kernel proc connector (${filter}, receive buffer ${source.receiveBufferBytes} bytes, reader thread priority ${source.priority}), boot ${source.bootId}`);
  if (sink.output) deps.log("exec records go to coderd through their own spool, <spool-dir>/exec/");
  let stopping: Promise<void> | null = null;
  return {
    source,
    notReadyReason: () => {
      const reason = sink.output?.notReadyReason() ?? null;
      return reason === null ? null : `exec records: ${reason}`;
    },
    readinessDetails: () => (sink.output?.readinessDetails?.() ?? []).map((line) => `exec ${line}`),
    stop: (deadline = Date.now() + 10_000) => {
      stopping ??= source.stop().then(() => sink.close(deadline));
      return stopping;
    },
  };
}

/** How many segment files a previous run left in the exec spool (0 when there is none). */
function leftoverSegments(spoolDir: string): number {
  try {
    return readdirSync(join(spoolDir, EXEC_SPOOL_DIR)).filter((name) => parseSegmentFileName(name) !== null).length;
  } catch {
    return 0;
  }
}

/**
 * With --output coderd and no process logging this run: the exec spool's
 * forwarder alone, when a previous run left exec records to deliver (else
 * null). Close it with the output at shutdown.
 */
export async function openLeftoverExecs(config: AgentConfig, deps: Pick<ProcessLogDeps, "output" | "openCoderd" | "log">): Promise<RecordOutput | null> {
  if (deps.output !== "coderd" || !deps.openCoderd || leftoverSegments(config.spool_dir) === 0) return null;
  deps.log("exec records a previous run spooled in <spool-dir>/exec/ are delivered, though process logging is not on in this run");
  return deps.openCoderd();
}
