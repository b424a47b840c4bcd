// coderd's `exec` lines, driven by the store as boundary_request lines are
// (line-emitter.ts): after a batch commits, ingest wakes this; it reads the
// exec records past the "stderr" cursor (SQLite: process_consumer_cursors;
// PostgreSQL: claims from process_consumer_batches), writes
// their lines (text or JSON, shared/WIRE.md §6 shape, labels from the
// identity stored with each row) in one write, then moves the cursor. A crash
// between commit and write loses no line; one between write and cursor move
// repeats those lines at the next start.
import type { LogFormat } from "../../record/emission.ts";
import { type ExecLabels, formatExecLine } from "../../process/exec-line.ts";
import { CursorLines, stderrSourceOf, type Writer } from "../line-emitter.ts";
import type { ProcessIngestMetrics } from "./metrics.ts";
import type { ProcessLogStore, StoredExec } from "./store.ts";

export interface ExecLinesOptions {
  store: ProcessLogStore;
  format: LogFormat;
  write: Writer;
  metrics: ProcessIngestMetrics;
  now: () => Date;
  /** Also look for unprinted records every this many ms (a store shared with other replicas). */
  pollMs?: number;
}

/** exectrace's labels of a stored exec: its workspace and owner as stored with it. */
export function labelsOfStored(e: StoredExec): ExecLabels {
  return { organization_id: "", user_email: "", user_id: e.owner_id, username: e.owner_name, workspace_id: e.workspace_id, workspace_name: e.workspace_name };
}

export function createExecLines(opts: ExecLinesOptions): CursorLines<StoredExec> {
  const { store, format } = opts;
  return new CursorLines<StoredExec>({
    source: stderrSourceOf(store, (e, now) => formatExecLine(format, { ...e, time: e.event_time }, labelsOfStored(e), now)),
    write: opts.write,
    counters: opts.metrics,
    now: opts.now,
    pollMs: opts.pollMs,
  });
}
