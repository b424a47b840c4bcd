// coderd's process-record metrics, registered in coderd's registry beside
// the boundary ones. Labels take only bounded values.
import { Counter, type Registry } from "prom-client";

export function registerProcessIngestMetrics(registry: Registry) {
  const m = {
    execsIngested: new Counter({ name: "coderd_process_execs_ingested_total", help: "Exec records newly stored and emitted, by result (complete, or truncated by the agent).", labelNames: ["result"], registers: [registry] }),
    execsDuplicate: new Counter({ name: "coderd_process_execs_duplicate_total", help: "Exec records already stored (same workspace, boot_id, pid and monotonic_ns): not stored or emitted again.", registers: [registry] }),
  };
  for (const r of ["complete", "truncated"]) m.execsIngested.inc({ result: r }, 0);
  return m;
}

export type ProcessIngestMetrics = ReturnType<typeof registerProcessIngestMetrics>;
