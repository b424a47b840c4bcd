// Retention: on a timer, deletes records captured longer ago than the
// retention, PURGE_BATCH rows per statement so no single statement holds
// the write lock for long; ingest interleaves between statements. Boundary
// records (coderd_boundary_records_purged_total) and exec records
// (coderd_process_execs_purged_total) alike; each store spares what one of
// its consumers has not taken yet.
import type { Counter } from "prom-client";
import type { CoderdMetrics } from "./metrics.ts";
import type { ProcessLogStore } from "./process/store.ts";
import type { Store } from "./store/store.ts";

export const PURGE_BATCH = 10_000;

export interface RetentionOptions {
  store: Store;
  /** The exec records' store, purged by the same rule. */
  processStore?: Pick<ProcessLogStore, "purgeBefore">;
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

  /** Purges every store; resolves to the rows deleted from all of them. */
  private async purge(): Promise<number> {
    const { store, processStore, metrics } = this.opts;
    const cutoff = new Date(this.opts.now().getTime() - this.opts.retentionMs);
    let total = await this.purgeOne((at, n) => store.purgeBefore(at, n), cutoff, metrics.recordsPurged, "records");
    if (processStore) total += await this.purgeOne((at, n) => processStore.purgeBefore(at, n), cutoff, metrics.process.execsPurged, "exec records");
    return total;
  }

  private async purgeOne(purgeBefore: (cutoff: Date, limit: number) => Promise<number>, cutoff: Date, purged: Counter, what: string): Promise<number> {
    const batch = this.opts.batchSize ?? PURGE_BATCH;
    let total = 0;
    try {
      for (;;) {
        const deleted = await purgeBefore(cutoff, batch);
        total += deleted;
        purged.inc(deleted);
        if (deleted < batch) break;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } catch (err) {
      this.opts.log(`retention purge of ${what} failed (retried next interval): ${(err as Error).message}`);
    }
    return total;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
