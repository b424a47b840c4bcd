// The ReportProcessLogs implementation: checks the batch (invalid_argument
// naming the field), stores it in one transaction, and only after the
// commit acknowledges and wakes the exec lines (exec-lines.ts), which are
// written from what the store committed, never from the request.
// Authentication is the ingest router's request gate, as for boundary
// records; the workspace comes from the agent's identity, never the request.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { IngestService } from "../../gen/boundaryrelay/v1/ingest_pb.ts";
import { type ReportProcessLogsRequest, ReportProcessLogsResponseSchema } from "../../gen/boundaryrelay/v1/process_pb.ts";
import type { CursorLines } from "../line-emitter.ts";
import { IDENTITY_KEY } from "../ingest.ts";
import type { ProcessIngestMetrics } from "./metrics.ts";
import type { ProcessLogStore, StoredExec } from "./store.ts";
import { describeInvalid } from "../../record/validity.ts";
import { checkProcessRequest } from "../../process/validity.ts";

export interface ProcessIngestDeps {
  store: ProcessLogStore;
  metrics: ProcessIngestMetrics;
  /** Woken after each commit that stored something. */
  lines: Pick<CursorLines<StoredExec>, "wake">;
  now: () => Date;
  log: (message: string) => void;
}

export function createProcessIngest(deps: ProcessIngestDeps): Pick<ServiceImpl<typeof IngestService>, "reportProcessLogs"> {
  return {
    async reportProcessLogs(req: ReportProcessLogsRequest, ctx: HandlerContext) {
      const identity = ctx.values.get(IDENTITY_KEY);
      if (!identity) throw new ConnectError("no agent identity", Code.Unauthenticated);
      const invalid = checkProcessRequest(req);
      if (invalid) throw new ConnectError(describeInvalid(invalid), Code.InvalidArgument);
      if (req.execs.length === 0) return create(ReportProcessLogsResponseSchema);
      let stored: number[];
      try {
        stored = await deps.store.insertExecs({ identity, bootId: req.bootId, capturedAt: deps.now(), execs: req.execs });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        deps.log(`store failed, exec batch refused with unavailable (the agent retries): ${reason}`);
        throw new ConnectError(`store unavailable: ${reason}`, Code.Unavailable);
      }
      deps.metrics.execsDuplicate.inc(req.execs.length - stored.length);
      if (stored.length === 0) return create(ReportProcessLogsResponseSchema);
      for (const i of stored) deps.metrics.execsIngested.inc({ result: req.execs[i]!.truncated ? "truncated" : "complete" });
      deps.lines.wake();
      return create(ReportProcessLogsResponseSchema);
    },
  };
}
