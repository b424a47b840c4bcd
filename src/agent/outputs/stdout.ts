// `--output stdout`: one JSON line per record (the coderd emission shape
// without workspace fields), one write per batch, waiting on the stream's
// backpressure so a slow reader slows the queue instead of growing memory.
import type { Writable } from "node:stream";
import { type EmittedRecord, formatJson } from "../../record/emission.ts";
import type { AgentMetrics } from "../metrics.ts";
import { decodedRequest, type QueuedBatch, type RecordOutput } from "../output.ts";

export interface StdoutOutputOptions {
  metrics: AgentMetrics;
  stream?: Writable;
  /** Clock for the lines' `ts`; tests pin it. */
  now?: () => Date;
}

/** The lines of one batch, each ending in "\n". */
export function formatBatchLines(batch: QueuedBatch, now: Date): string {
  const request = decodedRequest(batch);
  // One reused record view per batch: no per-record wrapper objects.
  const rec: EmittedRecord = { sessionId: request.sessionId, confinedProcessName: request.confinedProcessName, log: undefined as never };
  let text = "";
  for (const log of request.logs) {
    rec.log = log;
    text += formatJson(rec, null, now);
    text += "\n";
  }
  return text;
}

export class StdoutOutput implements RecordOutput {
  private readonly stream: Writable;
  private readonly now: () => Date;
  private failure: Error | null = null;

  constructor(private readonly opts: StdoutOutputOptions) {
    this.stream = opts.stream ?? (process.stdout as unknown as Writable);
    this.now = opts.now ?? (() => new Date());
    this.stream.on("error", (err: Error) => {
      this.failure = err;
    });
  }

  async write(batch: QueuedBatch): Promise<void> {
    if (this.failure) throw this.failure;
    const n = batch.records;
    if (n === 0) return;
    const ok = this.stream.write(formatBatchLines(batch, this.now()));
    this.opts.metrics.recordsWritten.inc(n);
    if (!ok) await this.waitForDrain();
  }

  notReadyReason(): string | null {
    return this.failure ? `stdout failed: ${this.failure.message}` : null;
  }

  async close(deadline: number): Promise<void> {
    if (this.failure || !this.stream.writableNeedDrain) return;
    await Promise.race([this.waitForDrain(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
  }

  private waitForDrain(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("error", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("error", done);
      this.stream.on("close", done);
    });
  }
}
