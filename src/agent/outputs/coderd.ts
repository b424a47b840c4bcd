// `--output coderd`: each batch is appended to the durable spool (and so
// accepted) and a background forwarder delivers the spool to coderd through
// rpc's ingest client; records coderd refuses on their own go to
// <spool-dir>/quarantine/ (forwarder/quarantine.ts).
// Exec records (--process-log) take the same path in their own spool,
// <spool-dir>/exec/ (its own budget of --spool-max-bytes, its own quarantine
// in exec/quarantine/, metrics agent_process_*), sent by ReportProcessLogs:
// a burst of execs can never crowd boundary records out of their spool.
//
//   const out = await CoderdOutput.open(config, metrics, log);       boundary records
//   const execs = await CoderdOutput.openExec(config, metrics, log); exec records
//     config: the AgentConfig fields listed in CoderdOutputConfig; the agent
//       token must already be resolved (from --agent-token or its file).
//     Throws SpoolDirError when --spool-dir is unusable, CaFileError when
//       --ca-file cannot be read (the CLI exits 2 for both).
//   out.write(batch)      → resolves once durable in the spool; over budget it
//                           drops and counts logs_dropped_total{reason="spool_full"}.
//   out.notReadyReason()  → null, or why (spool full, coderd unreachable, token refused).
//   out.state()           → details for /readyz.
//   await out.close(deadline) → stops accepting, delivers what it can until
//                           `deadline`, leaves the rest in the spool.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import type { AgentConfig } from "../../config/agent.ts";
import type { AgentMetrics, DeliveryMetrics } from "../metrics.ts";
import type { QueuedBatch, RecordOutput } from "../output.ts";
import { Spool, type LogFn, type SpoolMetrics, type SpoolState } from "../spool/spool.ts";
import { Forwarder, type ForwarderMetrics, type SendFn } from "../forwarder/forwarder.ts";
import { BOUNDARY_KIND, EXEC_KIND, type RequestKind } from "../forwarder/kinds.ts";
import { RetryTiming } from "../forwarder/backoff.ts";
import { Quarantine, QUARANTINE_DIR } from "../forwarder/quarantine.ts";
import { createIngestClient, type IngestClient } from "../../rpc/index.ts";
import { splitUrls } from "../../config/kinds.ts";
import { failoverSend } from "../forwarder/failover.ts";
import { ReportBoundaryLogsRequestSchema } from "../../gen/coder/agent/v2/boundary_pb.ts";

export type CoderdOutputConfig = Pick<
  AgentConfig,
  | "coderd_url"
  | "agent_token"
  | "ca_file"
  | "spool_dir"
  | "spool_max_bytes"
  | "spool_segment_bytes"
  | "spool_fsync"
  | "spool_fsync_interval"
  | "batch_max_records"
  | "batch_max_bytes"
  | "batch_delay"
  | "max_in_flight"
  | "retry_initial"
  | "retry_max"
>;

export interface CoderdOutputState {
  spool: SpoolState;
  /** null when coderd takes records, else why not. */
  coderd: string | null;
}

/** The subdirectory of --spool-dir that holds the exec records' spool. */
export const EXEC_SPOOL_DIR = "exec";

/** One delivery path: which requests, in which directory, counted where, sent how. */
interface Channel<Req> {
  kind: RequestKind<Req>;
  dir: string;
  metrics: SpoolMetrics & ForwarderMetrics;
  send: (client: IngestClient) => SendFn<Req>;
}

export class CoderdOutput implements RecordOutput {
  readonly takes = "encoded";
  private closed = false;

  private constructor(
    private readonly spool: Spool,
    private readonly forwarder: Forwarder<unknown>,
  ) {}

  /** Opens the boundary records' spool (replaying what a previous run left) and starts forwarding. */
  static open(config: CoderdOutputConfig, metrics: AgentMetrics, log: LogFn): Promise<CoderdOutput> {
    return CoderdOutput.openChannel(config, log, {
      kind: BOUNDARY_KIND,
      dir: config.spool_dir,
      metrics,
      send: (client) => (request, signal) => client.reportBoundaryLogs(request, { signal, timeoutMs: SEND_TIMEOUT_MS }).then(() => {}),
    });
  }

  /** Opens the exec records' spool (<spool-dir>/exec/) and starts forwarding it by ReportProcessLogs. */
  static openExec(config: CoderdOutputConfig, metrics: DeliveryMetrics, log: LogFn): Promise<CoderdOutput> {
    return CoderdOutput.openChannel(config, (line) => log(`exec records: ${line}`), {
      kind: EXEC_KIND,
      dir: join(config.spool_dir, EXEC_SPOOL_DIR),
      metrics,
      send: (client) => (request, signal) => client.reportProcessLogs(request, { signal, timeoutMs: SEND_TIMEOUT_MS }).then(() => {}),
    });
  }

  private static async openChannel<Req>(config: CoderdOutputConfig, log: LogFn, channel: Channel<Req>): Promise<CoderdOutput> {
    const caPem = config.ca_file ? await readCaFile(config.ca_file) : "";
    const metrics = channel.metrics;
    const spool = await Spool.open({
      recordsField: channel.kind.recordsField,
      dir: channel.dir,
      maxBytes: config.spool_max_bytes,
      segmentBytes: config.spool_segment_bytes,
      fsync: config.spool_fsync,
      fsyncIntervalMs: config.spool_fsync_interval,
      metrics,
      log,
    });
    const replicas = splitUrls(config.coderd_url).map((baseUrl) => createIngestClient({ baseUrl, token: config.agent_token, caPem }));
    const forwarder = new Forwarder<Req>({
      spool,
      kind: channel.kind,
      send: failoverSend(replicas.map(channel.send)),
      quarantine: new Quarantine(join(channel.dir, QUARANTINE_DIR)),
      batchMaxRecords: config.batch_max_records,
      batchMaxBytes: config.batch_max_bytes,
      batchDelayMs: config.batch_delay,
      maxInFlight: config.max_in_flight,
      retry: new RetryTiming({ initialMs: config.retry_initial, maxMs: config.retry_max }),
      metrics,
      log,
    });
    forwarder.start();
    return new CoderdOutput(spool, forwarder as Forwarder<unknown>);
  }

  async write(batch: QueuedBatch): Promise<void> {
    if (this.closed) throw new Error("coderd output is closed");
    const body = batch.encoded ?? toBinary(ReportBoundaryLogsRequestSchema, batch.request!);
    await this.spool.append(body, batch.records);
  }

  notReadyReason(): string | null {
    const spool = this.spool.state();
    if (spool.dropReason === "spool_write_failed") return "spool writes are failing (a full disk?); dropping records";
    if (spool.full) return `spool full (${spool.bytes} of ${spool.maxBytes} bytes); dropping records`;
    return this.forwarder.notReadyReason();
  }

  readinessDetails(): string[] {
    const { spool, coderd } = this.state();
    return [
      `spool: ${spool.bytes} of ${spool.maxBytes} bytes in ${spool.segments} segment(s)${spool.full ? " (full)" : ""}`,
      `coderd: ${coderd ?? "ok"}`,
    ];
  }

  state(): CoderdOutputState {
    return { spool: this.spool.state(), coderd: this.forwarder.notReadyReason() };
  }

  async close(deadline: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.forwarder.close(deadline);
    } finally {
      await this.spool.close();
    }
  }
}

/** Per-request timeout of a send to coderd, ms. */
const SEND_TIMEOUT_MS = 30_000;

/** --ca-file cannot be read; the CLI exits 2 naming the field. */
export class CaFileError extends Error {
  override readonly name = "CaFileError";
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot read --ca-file ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

async function readCaFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new CaFileError(path, err);
  }
}
