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
  /** --output coderd: exec records are not forwarded yet (a later release carries them through the spool). */
  "not_forwarded",
  /** In --process-log-cgroup scope, the process was gone before its cgroup could be read. */
  "unattributed",
  /** --output stdout failed. */
  "stdout_failed",
] as const;

export function createAgentMetrics(registry = new Registry()) {
  registerProcessMetrics(registry);
  /** Values read at scrape time from whoever owns them (set by the socket server). */
  const sources = { partialFrameBytes: () => 0 };
  const m = {
    registry,
    sources,
    batchesDropped: new Counter({ name: `${P}batches_dropped_total`, help: "Batches dropped (forward_failed: failed forward attempts, retried, not lost).", labelNames: ["reason"], registers: [registry] }),
    logsDropped: new Counter({ name: `${P}logs_dropped_total`, help: "Records dropped, by reason; boundary_* are drops boundary itself reported.", labelNames: ["reason"], registers: [registry] }),
    batchesForwarded: new Counter({ name: `${P}batches_forwarded_total`, help: "Requests coderd acknowledged.", registers: [registry] }),
    recordsReceived: new Counter({ name: `${P}records_received_total`, help: "Records decoded from boundary's socket.", registers: [registry] }),
    framesReceived: new Counter({ name: `${P}frames_received_total`, help: "Frames decoded from boundary's socket, by kind (unknown: a v2 envelope variant this version does not know).", labelNames: ["kind"], registers: [registry] }),
    framesRejected: new Counter({ name: `${P}frames_rejected_total`, help: "Frames refused, by reason.", labelNames: ["reason"], registers: [registry] }),
    connectionsOpen: new Gauge({ name: `${P}connections_open`, help: "boundary connections open now.", registers: [registry] }),
    connectionsTotal: new Counter({ name: `${P}connections_total`, help: "boundary connections accepted.", registers: [registry] }),
    connectionsRejected: new Counter({ name: `${P}connections_rejected_total`, help: "boundary connections the agent closed: too_many (over --max-connections, refused at once), idle_timeout (silent mid-frame for --socket-idle-timeout).", labelNames: ["reason"], registers: [registry] }),
    partialFrameBytes: new Gauge({ name: `${P}partial_frame_bytes`, help: "Bytes held for frames not yet complete, over all connections.", registers: [registry], collect() { this.set(sources.partialFrameBytes()); } }),
    socketReadsPaused: new Counter({ name: `${P}socket_reads_paused_total`, help: "Times the agent stopped reading boundary's connections because its in-memory queue was full (backpressure instead of buffer_full drops).", registers: [registry] }),
    queueRecords: new Gauge({ name: `${P}queue_records`, help: "Records in the in-memory queue.", registers: [registry] }),
    queueBytes: new Gauge({ name: `${P}queue_bytes`, help: "Encoded bytes in the in-memory queue.", registers: [registry] }),
    recordsForwarded: new Counter({ name: `${P}records_forwarded_total`, help: "Records coderd acknowledged.", registers: [registry] }),
    recordsWritten: new Counter({ name: `${P}records_written_total`, help: "Records written to the local output (stdout or discard).", registers: [registry] }),
    forwardRetries: new Counter({ name: `${P}forward_retries_total`, help: "Requests to coderd retried, by the code of the failure.", labelNames: ["code"], registers: [registry] }),
    forwardDuration: new Histogram({ name: `${P}forward_duration_seconds`, help: "Latency of requests to coderd.", buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    spoolBytes: new Gauge({ name: `${P}spool_bytes`, help: "Bytes in the spool's segment files.", registers: [registry] }),
    spoolSegments: new Gauge({ name: `${P}spool_segments`, help: "Segment files in the spool.", registers: [registry] }),
    spoolCorruptBytes: new Counter({ name: `${P}spool_corrupt_bytes_total`, help: "Damaged spool bytes skipped (copied to corrupt/ in the spool directory when readable).", registers: [registry] }),
    spoolWriteErrors: new Counter({ name: `${P}spool_write_errors_total`, help: "Spool writes that failed (a full disk, an I/O error); their records are counted in logs_dropped_total{reason=\"spool_write_failed\"}.", registers: [registry] }),
    spoolSegmentsMissing: new Counter({ name: `${P}spool_segments_missing_total`, help: "Spool segment files deleted by something else (or that could not be opened) before they were read.", registers: [registry] }),
    spoolOldestAge: new Gauge({ name: `${P}spool_oldest_unacked_age_seconds`, help: "Age of the oldest record coderd has not acknowledged.", registers: [registry] }),
    processEvents: new Counter({ name: "agent_process_events_total", help: "Exec records taken from the kernel (--process-log), by result: complete, or truncated (a /proc field could not be read, or argv was cut).", labelNames: ["result"], registers: [registry] }),
    processEventsLost: new Counter({ name: "agent_process_events_lost_total", help: "Kernel overruns of the process event socket (ENOBUFS): each is one or more exec events the kernel dropped.", registers: [registry] }),
    processEventsDropped: new Counter({ name: "agent_process_events_dropped_total", help: "Exec records taken but not delivered, by reason.", labelNames: ["reason"], registers: [registry] }),
  };
  // Reasons appear at 0 from the start, so rate() and alerts work before the first drop.
  for (const r of BATCH_DROP_REASONS) m.batchesDropped.inc({ reason: r }, 0);
  for (const r of LOG_DROP_REASONS) m.logsDropped.inc({ reason: r }, 0);
  for (const r of FRAME_ERROR_REASONS) m.framesRejected.inc({ reason: r }, 0);
  for (const k of FRAME_KINDS) m.framesReceived.inc({ kind: k }, 0);
  for (const r of CONNECTION_REJECT_REASONS) m.connectionsRejected.inc({ reason: r }, 0);
  for (const c of FAILURE_CODES) m.forwardRetries.inc({ code: c }, 0);
  for (const r of PROCESS_EVENT_RESULTS) m.processEvents.inc({ result: r }, 0);
  for (const r of PROCESS_DROP_REASONS) m.processEventsDropped.inc({ reason: r }, 0);
  m.processEventsLost.inc(0);
  return m;
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
