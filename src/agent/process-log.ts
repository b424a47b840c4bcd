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
// - --output coderd: records are NOT forwarded yet (the spool and forwarder
//   carry only boundary records in this release); each is counted in
//   agent_process_events_dropped_total{reason="not_forwarded"}, and the
//   agent says so at start;
// - --output discard: records are counted (agent_process_events_total) only.
import type { Writable } from "node:stream";
import type { AgentConfig } from "../config/agent.ts";
import { ConfigError } from "../config/load.ts";
import { execLabels, formatExecJson } from "../process/exec-line.ts";
import { type ExecBatch, ProcessSource } from "../process/source.ts";
import { ProcConnectorError } from "../runtime/proc-connector.ts";
import type { AgentMetrics } from "./metrics.ts";

export interface ProcessLogDeps {
  metrics: AgentMetrics;
  output: "coderd" | "stdout" | "discard";
  stdout?: Writable;
  now?: () => Date;
  log: (line: string) => void;
}

export interface ProcessLog {
  source: ProcessSource;
  stop(): Promise<void>;
}

function sinkFor(deps: ProcessLogDeps): (batch: ExecBatch) => void {
  const dropped = deps.metrics.processEventsDropped;
  switch (deps.output) {
    case "discard":
      return () => {};
    case "coderd":
      return (batch) => dropped.inc({ reason: "not_forwarded" }, batch.execs.length);
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
        for (const exec of batch.execs) text += `${formatExecJson(exec, labels, at)}\n`;
        stream.write(text);
      };
    }
  }
}

/** Starts process logging as config.process_log says; null when off or (optional and) unavailable. */
export async function startProcessLog(config: AgentConfig, deps: ProcessLogDeps): Promise<ProcessLog | null> {
  if (config.process_log === "off") return null;
  let source: ProcessSource;
  try {
    source = await ProcessSource.start({
      cgroup: config.process_log_cgroup,
      accept: sinkFor(deps),
      metrics: { eventsTotal: deps.metrics.processEvents, eventsLost: deps.metrics.processEventsLost, eventsDropped: deps.metrics.processEventsDropped },
      log: deps.log,
    });
  } catch (err) {
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
  if (deps.output === "coderd") {
    deps.log('warn: exec records are not forwarded to coderd in this release: each is counted in agent_process_events_dropped_total{reason="not_forwarded"}');
  }
  return { source, stop: () => source.stop() };
}
