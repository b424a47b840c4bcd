// The ReportBoundaryLogs implementation: checks the batch (at most 1000
// records, each valid by record/validity.ts, else invalid_argument naming the
// record and field, and nothing of the batch is stored), stores it in one
// transaction, and only after the commit acknowledges and wakes the line
// emitter, which prints the new records from the store (line-emitter.ts).
// The workspace comes from the authenticated identity (set by the request
// gate), never from the request. A store failure is `unavailable`: the
// agent keeps the batch and retries.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type BoundaryLog, type ReportBoundaryLogsRequest, ReportBoundaryLogsResponseSchema,
} from "../gen/coder/agent/v2/boundary_pb.ts";
import type { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";
import type { AgentIdentity } from "../record/identity.ts";
import { rfc3339Nano } from "../record/time.ts";
import { hostOf, isUuid } from "../record/ids.ts";
import { checkRequest, describeInvalid } from "../record/validity.ts";
import type { LineEmitter } from "./line-emitter.ts";
import type { CoderdMetrics } from "./metrics.ts";
import { messageOf } from "./store/errors.ts";
import type { NewRecord, Store } from "./store/store.ts";
import { MAX_RECORDS_PER_BATCH } from "../rpc/index.ts";

/** True for a binary (application/proto) Connect request. */
export function isBinaryRequest(headers: Headers): boolean {
  return (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase() === "application/proto";
}

export const IDENTITY_KEY = createContextKey<AgentIdentity | null>(null, { description: "authenticated agent identity" });

export interface IngestDeps {
  store: Store;
  lines: Pick<LineEmitter, "wake">;
  metrics: CoderdMetrics;
  now: () => Date;
  log: (message: string) => void;
}

/** A record as the store takes it, from the RPC's record (an HTTP request). */
export function toNewRecord(log: BoundaryLog & { resource: { case: "httpRequest" } }): NewRecord {
  const http = log.resource.value;
  return {
    sequenceNumber: log.sequenceNumber,
    allowed: log.allowed,
    httpMethod: http.method,
    httpUrl: http.url,
    httpHost: hostOf(http.url),
    matchedRule: log.allowed ? http.matchedRule : "",
    eventTime: rfc3339Nano(log.time),
  };
}

export function hasHttpRequest(log: BoundaryLog): log is BoundaryLog & { resource: { case: "httpRequest" } } {
  return log.resource.case === "httpRequest";
}

export function createIngestService(deps: IngestDeps): Pick<ServiceImpl<typeof IngestService>, "reportBoundaryLogs"> {
  return {
    async reportBoundaryLogs(req: ReportBoundaryLogsRequest, ctx: HandlerContext) {
      const identity = ctx.values.get(IDENTITY_KEY);
      if (!identity) throw new ConnectError("no agent identity", Code.Unauthenticated);
      if (req.logs.length > MAX_RECORDS_PER_BATCH) {
        throw new ConnectError(
          `${req.logs.length} records in one request; at most ${MAX_RECORDS_PER_BATCH} are accepted`,
          Code.InvalidArgument,
        );
      }
      // Binary bodies were scanned with the same rules as they arrived (connect-handler.ts).
      const invalid = isBinaryRequest(ctx.requestHeader) ? null : checkRequest(req);
      if (invalid) throw new ConnectError(describeInvalid(invalid), Code.InvalidArgument);
      await ingestBatch(deps, identity, req);
      return create(ReportBoundaryLogsResponseSchema);
    },
  };
}

async function ingestBatch(deps: IngestDeps, identity: AgentIdentity, req: ReportBoundaryLogsRequest): Promise<void> {
  const logs = req.logs.filter(hasHttpRequest);
  deps.metrics.recordsSkipped.inc(req.logs.length - logs.length);
  if (logs.length === 0) return;
  const deduplicate = isUuid(req.sessionId);
  if (!deduplicate) deps.metrics.batchesWithoutSession.inc();
  let result;
  try {
    result = await deps.store.insertBatch({
      identity,
      sessionId: req.sessionId,
      deduplicate,
      confinedProcessName: req.confinedProcessName,
      capturedAt: deps.now(),
      records: logs.map(toNewRecord),
    });
  } catch (err) {
    const reason = messageOf(err);
    deps.log(`store failed, batch refused with unavailable (the agent retries): ${reason}`);
    throw new ConnectError(`store unavailable: ${reason}`, Code.Unavailable);
  }
  deps.metrics.recordsDuplicate.inc(result.duplicates);
  let allowed = 0;
  for (const i of result.stored) if (logs[i]!.allowed) allowed++;
  // Two counter updates per batch, not one per record.
  if (allowed > 0) deps.metrics.recordsIngested.inc({ decision: "allow" }, allowed);
  if (result.stored.length > allowed) deps.metrics.recordsIngested.inc({ decision: "deny" }, result.stored.length - allowed);
  if (result.stored.length > 0) deps.lines.wake();
}
