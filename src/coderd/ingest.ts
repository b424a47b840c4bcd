// The ReportBoundaryLogs implementation: checks the batch, stores it in one
// transaction, and only after the commit emits the newly stored records and
// acknowledges. The workspace comes from the authenticated identity (set by
// the request gate), never from the request.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type BoundaryLog, type ReportBoundaryLogsRequest, ReportBoundaryLogsResponseSchema,
} from "../gen/coder/agent/v2/boundary_pb.ts";
import type { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";
import type { AgentIdentity } from "../record/identity.ts";
import { rfc3339Nano } from "../record/time.ts";
import type { Emitter } from "./emitter.ts";
import { isUuid } from "./identities.ts";
import type { CoderdMetrics } from "./metrics.ts";
import type { NewRecord, Store } from "./store/store.ts";
import { MAX_RECORDS_PER_BATCH } from "../rpc/index.ts";

export const IDENTITY_KEY = createContextKey<AgentIdentity | null>(null, { description: "authenticated agent identity" });

export interface IngestDeps {
  store: Store;
  emitter: Emitter;
  metrics: CoderdMetrics;
  now: () => Date;
  log: (message: string) => void;
}

/** Lower-cased host of a URL, "" when it has none; IDNs come out in punycode. */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return "";
  }
}

function toNewRecord(log: BoundaryLog & { resource: { case: "httpRequest" } }): NewRecord {
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

function hasHttpRequest(log: BoundaryLog): log is BoundaryLog & { resource: { case: "httpRequest" } } {
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
    const reason = err instanceof Error ? err.message : String(err);
    deps.log(`store failed, batch refused with unavailable (the agent retries): ${reason}`);
    throw new ConnectError(`store unavailable: ${reason}`, Code.Unavailable);
  }
  deps.metrics.recordsDuplicate.inc(result.duplicates);
  const stored = result.stored.map((i) => logs[i]!);
  for (const log of stored) deps.metrics.recordsIngested.inc({ decision: log.allowed ? "allow" : "deny" });
  deps.emitter.emit(
    stored.map((log) => ({ sessionId: req.sessionId, confinedProcessName: req.confinedProcessName, log })),
    identity,
  );
}
