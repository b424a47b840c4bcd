// The agent's in-memory queue between boundary's socket and the output.
// Bounded by records and by bytes; a batch that does not fit is dropped
// whole and counted (buffer_full), never blocking the socket readers. One
// drain loop hands batches, in order and up to MAX_PENDING_WRITES at a time
// (so the spool can fsync many in one go), to a RecordOutput.
import type { AgentMetrics } from "./metrics.ts";
import type { QueuedBatch, RecordOutput } from "./output.ts";

/** Batches handed to the output whose write has not resolved yet, at most. */
export const MAX_PENDING_WRITES = 256;

export interface BatchQueueOptions {
  maxRecords: number;
  maxBytes: number;
  metrics: AgentMetrics;
  /** Where a failing output's error is reported (stderr in the CLI). */
  log?: (line: string) => void;
}

export class BatchQueue {
  private items: QueuedBatch[] = [];
  private head = 0;
  private recordCount = 0;
  private byteCount = 0;
  private output: RecordOutput | null = null;
  private draining: Promise<void> | null = null;
  /** Writes handed to the output, oldest first: one per batch from `head` on. */
  private readonly pending: Promise<void>[] = [];
  private idleWaiters: Array<() => void> = [];
  private readonly droppedBufferFullLogs;
  private readonly droppedBufferFullBatches;
  private readonly droppedWriteFailedLogs;

  constructor(private readonly opts: BatchQueueOptions) {
    this.droppedBufferFullLogs = opts.metrics.logsDropped.labels("buffer_full");
    this.droppedBufferFullBatches = opts.metrics.batchesDropped.labels("buffer_full");
    this.droppedWriteFailedLogs = opts.metrics.logsDropped.labels("forward_failed");
  }

  get records(): number {
    return this.recordCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /**
   * Adds a batch; false when it was dropped because the queue is full. A
   * batch larger than a bound on its own still enters an empty queue, so
   * small bounds can never stall the stream.
   */
  push(batch: QueuedBatch): boolean {
    const n = batch.request.logs.length;
    const fits =
      this.length === 0 ||
      (this.recordCount + n <= this.opts.maxRecords && this.byteCount + batch.bytes <= this.opts.maxBytes);
    if (!fits) {
      this.droppedBufferFullLogs.inc(n);
      this.droppedBufferFullBatches.inc();
      return false;
    }
    this.items.push(batch);
    this.recordCount += n;
    this.byteCount += batch.bytes;
    this.updateGauges();
    if (this.output !== null) {
      if (this.draining === null) this.draining = this.drain(this.output);
      else this.handOut(this.output);
    }
    return true;
  }

  /** Starts handing batches to `output`. */
  start(output: RecordOutput): void {
    this.output = output;
    if (this.length > 0 && this.draining === null) this.draining = this.drain(output);
  }

  /** Resolves when the queue is empty and no write is in progress, or at `deadline`. */
  async idle(deadline = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.draining === null && this.length === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = new Promise<boolean>((resolve) => {
      this.idleWaiters.push(() => resolve(true));
      if (Number.isFinite(deadline)) timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    });
    const result = await done;
    clearTimeout(timer);
    return result;
  }

  /**
   * Hands batches to the output in order, up to MAX_PENDING_WRITES at once,
   * and removes each from the queue (in order) once its write resolved. Not
   * waiting for one batch to be accepted before handing the next lets the
   * spool cover many batches with one group fsync.
   */
  private async drain(output: RecordOutput): Promise<void> {
    while (this.length > 0) {
      this.handOut(output);
      await this.pending[0];
      this.pending.shift();
      this.shift(this.items[this.head]!);
    }
    this.draining = null;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Starts the writes of queued batches not handed out yet, within the bound. */
  private handOut(output: RecordOutput): void {
    const pending = this.pending;
    while (pending.length < this.length && pending.length < MAX_PENDING_WRITES) {
      pending.push(this.writeOne(output, this.items[this.head + pending.length]!));
    }
  }

  /** One write; never rejects. */
  private async writeOne(output: RecordOutput, batch: QueuedBatch): Promise<void> {
    try {
      await output.write(batch);
    } catch (err) {
      // The output contract says write() resolves once the batch is taken;
      // a rejection is an output failure we cannot retry blindly.
      this.droppedWriteFailedLogs.inc(batch.request.logs.length);
      this.opts.log?.(`warn: output failed, ${batch.request.logs.length} records dropped: ${(err as Error).message}`);
    }
  }

  private shift(batch: QueuedBatch): void {
    this.items[this.head] = undefined as unknown as QueuedBatch;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.recordCount -= batch.request.logs.length;
    this.byteCount -= batch.bytes;
    this.updateGauges();
  }

  private updateGauges(): void {
    this.opts.metrics.queueRecords.set(this.recordCount);
    this.opts.metrics.queueBytes.set(this.byteCount);
  }
}
