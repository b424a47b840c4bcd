// The ReportProcessLogs implementation: checks the batch (invalid_argument
// naming the field), stores it in one transaction, and only after the
// commit emits one `exec` line per newly stored record and acknowledges.
// Authentication is the ingest router's request gate, as for boundary
// records; the workspace comes from the agent's identity, never the request.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { IngestService } from "../../gen/boundaryrelay/v1/ingest_pb.ts";
import { type ReportProcessLogsRequest, ReportProcessLogsResponseSchema } from "../../gen/boundaryrelay/v1/process_pb.ts";
import { execLabels, formatExecLine } from "../../process/exec-line.ts";
import type { Writer } from "../line-emitter.ts";
import { IDENTITY_KEY } from "../ingest.ts";
import type { ProcessIngestMetrics } from "./metrics.ts";
import type { ProcessLogStore } from "./store.ts";
import { describeInvalid } from "../../record/validity.ts";
import { checkProcessRequest } from "../../process/validity.ts";

export interface ProcessIngestDeps {
  store: ProcessLogStore;
  metrics: ProcessIngestMetrics;
  format: "text" | "json";
  write: Writer;
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
      const labels = execLabels(identity);
      const now = deps.now();
      let chunk = "";
      for (const i of stored) {
        const exec = req.execs[i]!;
        deps.metrics.execsIngested.inc({ result: exec.truncated ? "truncated" : "complete" });
        chunk += `${formatExecLine(deps.format, exec, labels, now)}\n`;
      }
      // Exec lines are still written at ingest, not yet driven by the store as
      // boundary_request lines are (line-emitter.ts): a failed write is logged.
      void Promise.resolve(deps.write(chunk)).catch((err: unknown) => deps.log(`exec lines not written: ${err instanceof Error ? err.message : String(err)}`));
      return create(ReportProcessLogsResponseSchema);
    },
  };
}
