// Every metric the agent exposes on /metrics. The first three keep the
// names and reasons of the deployed Coder agent (shared/WIRE.md §4) so
// existing dashboards keep working; the rest are boundary-relay's own.
// No label takes an unbounded value.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "../metrics/process.ts";
import { FAILURE_CODES } from "../rpc/index.ts";
import { FRAME_ERROR_REASONS } from "../wire/frame.ts";

const P = "agent_boundary_log_proxy_";

export const BATCH_DROP_REASONS = ["buffer_full", "forward_failed"] as const;
export const LOG_DROP_REASONS = [
  "buffer_full",
  "forward_failed",
  "boundary_channel_full",
  "boundary_batch_full",
  "spool_full",
  /** The spool could not write the batch (a full disk, an I/O error). */
  "spool_write_failed",
  /** In a damaged part of a spool segment, where the count is known. */
  "spool_corrupt",
  /** In a spool segment deleted by something else before it was read, where the count is known. */
  "spool_missing",
  /** Still in the in-memory queue when shutdown_timeout ran out. */
  "shutdown",
  /** Refused by coderd as invalid_argument, alone in its request: moved to <spool-dir>/quarantine/. */
  "invalid",
] as const;

export type LogDropReason = (typeof LOG_DROP_REASONS)[number];

export const FRAME_KINDS = ["logs", "status", "unknown"] as const;
/** Why a boundary connection was closed by the agent before its peer closed it (frame errors aside). */
export const CONNECTION_REJECT_REASONS = [
  /** --max-connections were already open. */
  "too_many",
  /** It held part of a frame and sent nothing for --socket-idle-timeout. */
  "idle_timeout",
] as const;

/** Results of process exec records (--process-log). */
export const PROCESS_EVENT_RESULTS = ["complete", "truncated"] as const;
export const PROCESS_DROP_REASONS = [
  /** In --process-log-cgroup scope, the process was gone before its cgroup could be read. */
  "unattributed",
  /** --output stdout failed. */
  "stdout_failed",
  /** --output coderd, the exec spool (<spool-dir>/exec/): as for boundary records (LOG_DROP_REASONS). */
  "spool_full",
  "spool_write_failed",
  "spool_corrupt",
  "spool_missing",
  "shutdown",
  "forward_failed",
  "invalid",
] as const;

/**
 * A gauge read when scraped from whoever owns the value (they set `read`;
 * 0 until then), rather than set on every change: the queue and the spool
 * change with every frame, and a labelled-metric update per frame cost the
 * agent about 7% of its CPU end to end.
 */
export type ReadGauge = Gauge & { read: () => number };

function readGauge(registry: Registry, name: string, help: string): ReadGauge {
  const gauge: ReadGauge = Object.assign(
    new Gauge({ name, help, registers: [registry], collect() { this.set(gauge.read()); } }),
    { read: () => 0 },
  );
  return gauge;
}

/**
 * The spool's and forwarder's metrics under `prefix`: one set for boundary
 * records (agent_boundary_log_proxy_, the names of WIRE.md §4 and after) and
 * one for exec records (agent_process_), so each delivery path is counted
 * the same way and neither hides the other. `what` names the records in help texts.
 */
function deliveryMetrics(registry: Registry, prefix: string, what: string) {
  return {
    batchesDropped: new Counter({ name: `${prefix}batches_dropped_total`, help: `Batches of ${what} dropped (forward_failed: failed forward attempts, retried, not lost).`, labelNames: ["reason"], registers: [registry] }),
    batchesForwarded: new Counter({ name: `${prefix}batches_forwarded_total`, help: `Requests of ${what} coderd acknowledged.`, registers: [registry] }),
    recordsForwarded: new Counter({ name: `${prefix}records_forwarded_total`, help: `${what[0]!.toUpperCase()}${what.slice(1)} coderd acknowledged.`, registers: [registry] }),
    forwardRetries: new Counter({ name: `${prefix}forward_retries_total`, help: `Requests of ${what} to coderd retried, by the code of the failure.`, labelNames: ["code"], registers: [registry] }),
    forwardDuration: new Histogram({ name: `${prefix}forward_duration_seconds`, help: `Latency of requests of ${what} to coderd.`, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    spoolBytes: readGauge(registry, `${prefix}spool_bytes`, `Bytes in the segment files of the spool of ${what}.`),
    spoolSegments: readGauge(registry, `${prefix}spool_segments`, `Segment files in the spool of ${what}.`),
    spoolCorruptBytes: new Counter({ name: `${prefix}spool_corrupt_bytes_total`, help: `Damaged bytes skipped in the spool of ${what} (copied to corrupt/ in its directory when readable).`, registers: [registry] }),
    spoolWriteErrors: new Counter({ name: `${prefix}spool_write_errors_total`, help: `Writes to the spool of ${what} that failed (a full disk, an I/O error); their records are counted as dropped with reason spool_write_failed.`, registers: [registry] }),
    spoolSegmentsMissing: new Counter({ name: `${prefix}spool_segments_missing_total`, help: `Segment files of the spool of ${what} deleted by something else (or that could not be opened) before they were read.`, registers: [registry] }),
    spoolOldestAge: readGauge(registry, `${prefix}spool_oldest_unacked_age_seconds`, `Age of the oldest of the ${what} coderd has not acknowledged.`),
  };
}

export type DeliveryMetrics = ReturnType<typeof deliveryMetrics> & {
  /** Records dropped, by reason (logs_dropped_total for boundary records, agent_process_events_dropped_total for execs). */
  logsDropped: Counter<"reason">;
  queueRecords: ReadGauge;
  queueBytes: ReadGauge;
};

export function createAgentMetrics(registry = new Registry()) {
  registerProcessMetrics(registry);
  /** Values read at scrape time from whoever owns them (set by the socket server). */
  const sources = { partialFrameBytes: () => 0 };
  const m = {
    registry,
    sources,
    ...deliveryMetrics(registry, P, "boundary records"),
    logsDropped: new Counter({ name: `${P}logs_dropped_total`, help: "Records dropped, by reason; boundary_* are drops boundary itself reported.", labelNames: ["reason"], registers: [registry] }),
    recordsReceived: new Counter({ name: `${P}records_received_total`, help: "Records decoded from boundary's socket.", registers: [registry] }),
    framesReceived: new Counter({ name: `${P}frames_received_total`, help: "Frames decoded from boundary's socket, by kind (unknown: a v2 envelope variant this version does not know).", labelNames: ["kind"], registers: [registry] }),
    framesRejected: new Counter({ name: `${P}frames_rejected_total`, help: "Frames refused, by reason.", labelNames: ["reason"], registers: [registry] }),
    connectionsOpen: new Gauge({ name: `${P}connections_open`, help: "boundary connections open now.", registers: [registry] }),
    connectionsTotal: new Counter({ name: `${P}connections_total`, help: "boundary connections accepted.", registers: [registry] }),
    connectionsRejected: new Counter({ name: `${P}connections_rejected_total`, help: "boundary connections the agent closed: too_many (over --max-connections, refused at once), idle_timeout (silent mid-frame for --socket-idle-timeout).", labelNames: ["reason"], registers: [registry] }),
    partialFrameBytes: new Gauge({ name: `${P}partial_frame_bytes`, help: "Bytes held for frames not yet complete, over all connections.", registers: [registry], collect() { this.set(sources.partialFrameBytes()); } }),
    socketReadsPaused: new Counter({ name: `${P}socket_reads_paused_total`, help: "Times the agent stopped reading boundary's connections because its in-memory queue was full (backpressure instead of buffer_full drops).", registers: [registry] }),
    queueRecords: readGauge(registry, `${P}queue_records`, "Records in the in-memory queue."),
    queueBytes: readGauge(registry, `${P}queue_bytes`, "Encoded bytes in the in-memory queue."),
    recordsWritten: new Counter({ name: `${P}records_written_total`, help: "Records written to the local output (stdout or discard).", registers: [registry] }),
    processEvents: new Counter({ name: "agent_process_events_total", help: "Exec records taken from the kernel (--process-log), by result: complete, or truncated (a /proc field could not be read, or argv was cut).", labelNames: ["result"], registers: [registry] }),
    processEventsLost: new Counter({ name: "agent_process_events_lost_total", help: "Kernel overruns of the process event socket (ENOBUFS): each is one or more exec events the kernel dropped.", registers: [registry] }),
    processEventsDropped: new Counter({ name: "agent_process_events_dropped_total", help: "Exec records taken but not delivered, by reason.", labelNames: ["reason"], registers: [registry] }),
    processQueueRecords: readGauge(registry, "agent_process_queue_records", "Exec records in the in-memory queue before the exec spool (--output coderd)."),
    processQueueBytes: readGauge(registry, "agent_process_queue_bytes", "Encoded bytes of exec records in the in-memory queue before the exec spool."),
    /** The exec records' spool and forwarder (--process-log with --output coderd). */
    processDelivery: deliveryMetrics(registry, "agent_process_", "exec records"),
  };
  // Reasons appear at 0 from the start, so rate() and alerts work before the first drop.
  for (const r of BATCH_DROP_REASONS) m.batchesDropped.inc({ reason: r }, 0);
  for (const r of LOG_DROP_REASONS) m.logsDropped.inc({ reason: r }, 0);
  for (const r of FRAME_ERROR_REASONS) m.framesRejected.inc({ reason: r }, 0);
  for (const k of FRAME_KINDS) m.framesReceived.inc({ kind: k }, 0);
  for (const r of CONNECTION_REJECT_REASONS) m.connectionsRejected.inc({ reason: r }, 0);
  for (const c of FAILURE_CODES) m.forwardRetries.inc({ code: c }, 0);
  for (const c of FAILURE_CODES) m.processDelivery.forwardRetries.inc({ code: c }, 0);
  m.processDelivery.batchesDropped.inc({ reason: "forward_failed" }, 0);
  for (const r of PROCESS_EVENT_RESULTS) m.processEvents.inc({ result: r }, 0);
  for (const r of PROCESS_DROP_REASONS) m.processEventsDropped.inc({ reason: r }, 0);
  m.processEventsLost.inc(0);
  return m;
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;

/** The metrics of the exec records' queue, spool and forwarder, in the shape the boundary path uses. */
export function execDeliveryMetrics(m: AgentMetrics): DeliveryMetrics {
  return { ...m.processDelivery, logsDropped: m.processEventsDropped, queueRecords: m.processQueueRecords, queueBytes: m.processQueueBytes };
}
