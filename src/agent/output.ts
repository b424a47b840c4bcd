// Where accepted records go after the in-memory queue. The queue's drain
// loop hands each batch to one RecordOutput: stdout (JSON lines), discard,
// or coderd (the durable spool plus the forwarder).
import { fromBinary } from "@bufbuild/protobuf";
import { type ReportBoundaryLogsRequest, ReportBoundaryLogsRequestSchema } from "../gen/coder/agent/v2/boundary_pb.ts";

/** One frame's records. At least one of `request` and `encoded` is set. */
export interface QueuedBatch {
  /** How many records the batch holds. */
  records: number;
  /**
   * The decoded request; null when the output takes bytes and `encoded`
   * holds them, so the queue does not keep decoded records in memory.
   */
  request: ReportBoundaryLogsRequest | null;
  /** The request's encoding as received, when it could be cut out of the frame. */
  encoded: Uint8Array | null;
  /** Encoded size of the frame it came in, used for the queue's byte bound. */
  bytes: number;
  /** When the agent read it off the socket (ms since the epoch). */
  receivedAt: number;
}

/** The batch's request, decoding its bytes when only those were kept. */
export function decodedRequest(batch: QueuedBatch): ReportBoundaryLogsRequest {
  return batch.request ?? fromBinary(ReportBoundaryLogsRequestSchema, batch.encoded!);
}

export interface RecordOutput {
  /**
   * "encoded" when the output only needs `encoded` and `records` (it stores
   * or counts bytes); absent or "decoded" when it reads the records.
   */
  readonly takes?: "decoded" | "encoded";
  /**
   * Takes one batch. Resolves once the batch is accepted for good (written,
   * or durable in the spool); a batch it has to drop is counted by the
   * output itself (e.g. spool_full). Called in order; several calls may be
   * outstanding at once (the queue pipelines up to 256), and the output must
   * take the batches in the order of the calls.
   */
  write(batch: QueuedBatch): Promise<void>;
  /** null when ready to do its job, else the reason for /readyz. */
  notReadyReason(): string | null;
  /** Extra `name: value` lines for /readyz (e.g. spool and coderd state). */
  readinessDetails?(): string[];
  /** Finishes what it can by `deadline` (ms since the epoch), then stops. */
  close(deadline: number): Promise<void>;
}
