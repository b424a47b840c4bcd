// `--output discard`: counts records and drops them. For benchmarks of the
// socket path and for trying the agent without anywhere to send records.
import type { AgentMetrics } from "../metrics.ts";
import type { QueuedBatch, RecordOutput } from "../output.ts";

export class DiscardOutput implements RecordOutput {
  readonly takes = "encoded";

  constructor(private readonly metrics: AgentMetrics) {}

  async write(batch: QueuedBatch): Promise<void> {
    this.metrics.recordsWritten.inc(batch.records);
  }

  notReadyReason(): string | null {
    return null;
  }

  async close(): Promise<void> {}
}
