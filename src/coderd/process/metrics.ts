// coderd's process-record metrics, registered in coderd's registry beside
// the boundary ones. Labels take only bounded values.
import { Counter, type Registry } from "prom-client";

export function registerProcessIngestMetrics(registry: Registry) {
  const m = {
    execsIngested: new Counter({ name: "coderd_process_execs_ingested_total", help: "Exec records newly stored (each gets its exec line from the store), by result (complete, or truncated by the agent).", labelNames: ["result"], registers: [registry] }),
    linesWritten: new Counter({ name: "coderd_process_lines_written_total", help: "exec lines written to stderr (at least once per stored exec record: a crash may repeat some).", registers: [registry] }),
    lineWriteFailures: new Counter({ name: "coderd_process_line_write_failures_total", help: "Failed rounds of writing exec lines (stderr or the store failed); retried every second, the records stay stored.", registers: [registry] }),
    execsPurged: new Counter({ name: "coderd_process_execs_purged_total", help: "Exec records deleted by the retention purge.", registers: [registry] }),
    execsDuplicate: new Counter({ name: "coderd_process_execs_duplicate_total", help: "Exec records already stored (same workspace, boot_id, pid and monotonic_ns): not stored or emitted again.", registers: [registry] }),
  };
  for (const r of ["complete", "truncated"]) m.execsIngested.inc({ result: r }, 0);
  return m;
}

export type ProcessIngestMetrics = ReturnType<typeof registerProcessIngestMetrics>;
