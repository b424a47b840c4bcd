// Retention: on a timer, deletes records captured longer ago than the
// retention, PURGE_BATCH rows per statement so no single statement holds
// the write lock for long; ingest interleaves between statements.
import type { CoderdMetrics } from "./metrics.ts";
import type { Store } from "./store/store.ts";

export const PURGE_BATCH = 10_000;

export interface RetentionOptions {
  store: Store;
  metrics: CoderdMetrics;
  /** Milliseconds; 0 keeps records forever. */
  retentionMs: number;
  intervalMs: number;
  now: () => Date;
  log: (message: string) => void;
  batchSize?: number;
}

export class Retention {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly opts: RetentionOptions) {}

  start(): void {
    if (this.opts.retentionMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), Math.max(10, this.opts.intervalMs));
  }

  /** One purge pass (joins the pass in progress, if any); resolves to records deleted. */
  runOnce(): Promise<number> {
    if (this.opts.retentionMs <= 0) return Promise.resolve(0);
    this.running ??= this.purge().finally(() => (this.running = undefined));
    return this.running;
  }

  private async purge(): Promise<number> {
    const { store, metrics } = this.opts;
    const batch = this.opts.batchSize ?? PURGE_BATCH;
    const cutoff = new Date(this.opts.now().getTime() - this.opts.retentionMs);
    let total = 0;
    try {
      for (;;) {
        const deleted = await store.purgeBefore(cutoff, batch);
        total += deleted;
        metrics.recordsPurged.inc(deleted);
        if (deleted < batch) break;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } catch (err) {
      this.opts.log(`retention purge failed (retried next interval): ${(err as Error).message}`);
    }
    return total;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
