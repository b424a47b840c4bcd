// coderd's metrics, all under coderd_boundary_. Labels take only bounded
// values (decision, RPC code).
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "../metrics/process.ts";
import { registerProcessIngestMetrics } from "./process/metrics.ts";

const P = "coderd_boundary_";

export const RPC_CODES = ["ok", "unauthenticated", "invalid_argument", "resource_exhausted", "unavailable", "internal"] as const;

export function createCoderdMetrics(registry = new Registry()) {
  registerProcessMetrics(registry);
  const m = {
    registry,
    recordsIngested: new Counter({ name: `${P}records_ingested_total`, help: "Records newly stored, by decision (each gets its boundary_request line from the store).", labelNames: ["decision"], registers: [registry] }),
    linesWritten: new Counter({ name: `${P}lines_written_total`, help: "boundary_request lines written to stderr (at least once per stored record: a crash may repeat some).", registers: [registry] }),
    lineWriteFailures: new Counter({ name: `${P}line_write_failures_total`, help: "Failed rounds of writing boundary_request lines (stderr or the store failed); retried every second, the records stay stored.", registers: [registry] }),
    recordsDuplicate: new Counter({ name: `${P}records_duplicate_total`, help: "Records already stored (same workspace, session_id and sequence_number): not stored or emitted again.", registers: [registry] }),
    recordsSkipped: new Counter({ name: `${P}records_skipped_total`, help: "Records without an http_request: nothing to store or emit.", registers: [registry] }),
    batchesWithoutSession: new Counter({ name: `${P}batches_without_session_id_total`, help: "Batches whose session_id is missing or not a UUID: stored and emitted without de-duplication.", registers: [registry] }),
    storeCommits: new Counter({ name: `${P}store_commits_total`, help: "Store transactions that committed ingest batches: the batches that arrive together share one (group commit) and its fsync.", registers: [registry] }),
    batchesCommitted: new Counter({ name: `${P}store_batches_committed_total`, help: "Ingest batches committed; divided by store_commits_total, the batches per transaction.", registers: [registry] }),
    rpcs: new Counter({ name: `${P}rpcs_total`, help: "Ingest RPCs answered, by Connect code.", labelNames: ["code"], registers: [registry] }),
    ingestDuration: new Histogram({ name: `${P}ingest_duration_seconds`, help: "Time to answer an ingest RPC, store commit included.", buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    recordsPurged: new Counter({ name: `${P}records_purged_total`, help: "Records deleted by the retention purge.", registers: [registry] }),
    identities: new Gauge({ name: `${P}agent_identities`, help: "Agent identities loaded from --agents-file.", registers: [registry] }),
    identityReloads: new Counter({ name: `${P}agent_identity_reloads_total`, help: "Reloads of --agents-file, by result.", labelNames: ["result"], registers: [registry] }),
    /** Exec records (workspace process logging). */
    process: registerProcessIngestMetrics(registry),
  };
  for (const d of ["allow", "deny"]) m.recordsIngested.inc({ decision: d }, 0);
  for (const c of RPC_CODES) m.rpcs.inc({ code: c }, 0);
  for (const r of ["ok", "error"]) m.identityReloads.inc({ result: r }, 0);
  return m;
}

export type CoderdMetrics = ReturnType<typeof createCoderdMetrics>;
