// The forwarder: reads unacknowledged entries from the spool in order,
// coalesces each session's records into requests (batch.ts), sends them to
// coderd with at most maxInFlight in flight, and acks spool entries once
// coderd has taken all their records. Nothing is dropped because coderd said
// no or was away:
//   unavailable, resource_exhausted, network errors and other codes
//     → every send waits out an exponential backoff with full jitter;
//   unauthenticated → not ready, loud on stderr, retried every retryMax;
//   invalid_argument → a batch of 2+ records is split in half and retried at
//     once; a single refused record is logged loudly and retried with its own
//     backoff (other batches keep flowing).
// Each failed attempt counts in batches_dropped_total{reason="forward_failed"}
// and forward_retries_total{code}; the records stay in the spool.
//
// Public API:
//   const f = new Forwarder(options); f.start();
//   f.notReadyReason() → null, or why coderd is not taking records;
//   await f.close(deadline) → delivers what it can until `deadline` (ms since
//     the epoch), then aborts what is in flight; the rest stays in the spool.
import { Code } from "@connectrpc/connect";
import type { AgentMetrics } from "../metrics.ts";
import type { EntryRef, LogFn, SpoolEntry } from "../spool/spool.ts";
import { Backoff } from "./backoff.ts";
import { Coalescer, decodeLog, scanRequest, splitBatch, toRequest, type Batch } from "./batch.ts";
import { codeName, failureCode, failureMessage, type SendFn } from "./client.ts";

/** What the forwarder needs of the spool. */
export interface ForwarderSpool {
  next(): Promise<SpoolEntry | null>;
  ack(ref: EntryRef): void;
  onAppend(listener: () => void): () => void;
}

export type ForwarderMetrics = Pick<
  AgentMetrics,
  "batchesForwarded" | "recordsForwarded" | "batchesDropped" | "forwardRetries" | "forwardDuration"
>;

export interface ForwarderOptions {
  spool: ForwarderSpool;
  send: SendFn;
  batchMaxRecords: number;
  batchMaxBytes: number;
  batchDelayMs: number;
  maxInFlight: number;
  retryInitialMs: number;
  retryMaxMs: number;
  metrics: ForwarderMetrics;
  /** stderr logger for loud, rate-limited messages. */
  log: LogFn;
  random?: () => number;
}

/** The same loud message is repeated at most this often. */
const LOUD_REPEAT_MS = 30_000;

export class Forwarder {
  private readonly coalescer: Coalescer;
  private readonly backoff: Backoff;
  private ready: Batch[] = [];
  private inFlight = new Set<Promise<void>>();
  private sendNotBefore = 0;
  private coderdProblem: string | null = null;
  private refusedBatches = 0;
  private refusedMessage = "";
  private readonly loudAt = new Map<string, number>();
  private pumping = false;
  private pumpAgain = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closing = false;
  private stopped = false;
  private spoolDry = false;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly opts: ForwarderOptions) {
    this.coalescer = new Coalescer({ maxRecords: opts.batchMaxRecords, maxBytes: opts.batchMaxBytes });
    this.backoff = new Backoff({ initialMs: opts.retryInitialMs, maxMs: opts.retryMaxMs, random: opts.random });
  }

  start(): void {
    this.unsubscribe = this.opts.spool.onAppend(() => {
      this.spoolDry = false;
      this.kick();
    });
    this.kick();
  }

  notReadyReason(): string | null {
    if (this.coderdProblem) return this.coderdProblem;
    if (this.refusedBatches > 0) return `coderd refuses ${this.refusedBatches} record(s) as invalid (${this.refusedMessage}); keeping them and retrying`;
    return null;
  }

  /** Delivers what it can until `deadline`, then stops; undelivered records stay in the spool. */
  async close(deadline: number): Promise<void> {
    if (this.stopped) return;
    this.closing = true;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const timeout = setTimeout(() => void this.stop(), Math.max(0, deadline - Date.now()));
    this.kick();
    await idle;
    clearTimeout(timeout);
    await this.stop();
  }

  // ------------------------------------------------------------ the pump

  private kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.pumpAgain = false;
        await this.fill();
        this.sealDue();
        this.dispatch();
      } while (this.pumpAgain && !this.stopped);
    } catch (err) {
      this.opts.log(`forwarder: reading the spool failed: ${err instanceof Error ? err.message : String(err)}; retrying`);
      this.sendNotBefore = Math.max(this.sendNotBefore, Date.now() + this.opts.retryInitialMs);
    } finally {
      this.pumping = false;
    }
    this.schedule();
    this.checkIdle();
  }

  /** Reads spool entries into batches while there is room for them. */
  private async fill(): Promise<void> {
    const maxRecords = this.opts.batchMaxRecords * this.opts.maxInFlight;
    const maxBytes = this.opts.batchMaxBytes * this.opts.maxInFlight;
    while (
      !this.stopped &&
      this.ready.length < this.opts.maxInFlight &&
      this.coalescer.bufferedRecords < maxRecords &&
      this.coalescer.bufferedBytes < maxBytes
    ) {
      const entry = await this.opts.spool.next();
      if (!entry) {
        this.spoolDry = true;
        return;
      }
      this.addEntry(entry);
    }
    // The buffer is at its bound with no batch full (many sessions): send what there is.
    if (this.ready.length === 0 && !this.spoolDry) this.ready.push(...this.coalescer.takeOpenedBy(Infinity));
  }

  private addEntry(entry: SpoolEntry): void {
    let request;
    try {
      request = scanRequest(entry.body);
    } catch (err) {
      this.loud("undecodable", `forwarder: spool entry ${entry.segment}:${entry.offset} passed its checksum but does not parse (${err instanceof Error ? err.message : String(err)}); skipping it`);
      this.opts.spool.ack(entry);
      return;
    }
    if (request.logs.length === 0) {
      this.opts.spool.ack(entry);
      return;
    }
    this.ready.push(...this.coalescer.add(entry, request, entry.body.length, Date.now()));
  }

  private sealDue(): void {
    const cutoff = this.closing ? Infinity : Date.now() - this.opts.batchDelayMs;
    this.ready.push(...this.coalescer.takeOpenedBy(cutoff));
  }

  private dispatch(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (now < this.sendNotBefore) return;
    while (this.inFlight.size < this.opts.maxInFlight) {
      const index = this.ready.findIndex((b) => b.notBefore <= now);
      if (index < 0) return;
      const [batch] = this.ready.splice(index, 1);
      const sending = this.sendBatch(batch!);
      this.inFlight.add(sending);
      void sending.finally(() => {
        this.inFlight.delete(sending);
        this.kick();
      });
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    let wake = Infinity;
    if (this.ready.length > 0 && this.inFlight.size < this.opts.maxInFlight) {
      const earliest = Math.min(...this.ready.map((b) => b.notBefore));
      wake = Math.max(this.sendNotBefore, earliest);
    }
    const opened = this.coalescer.oldestOpenedAt();
    if (opened !== null) wake = Math.min(wake, opened + this.opts.batchDelayMs);
    if (wake === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, Math.max(0, wake - Date.now()));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private checkIdle(): void {
    if (!this.closing || this.pumping) return;
    const idle = this.spoolDry && this.coalescer.size === 0 && this.ready.length === 0 && this.inFlight.size === 0;
    if (!idle) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.unsubscribe?.();
      if (this.timer) clearTimeout(this.timer);
      this.abort.abort();
    }
    await Promise.allSettled([...this.inFlight]);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  // ------------------------------------------------------------ one request

  private async sendBatch(batch: Batch): Promise<void> {
    const started = performance.now();
    try {
      await this.opts.send(toRequest(batch), this.abort.signal);
      this.opts.metrics.forwardDuration.observe((performance.now() - started) / 1000);
      this.succeeded(batch);
    } catch (err) {
      this.opts.metrics.forwardDuration.observe((performance.now() - started) / 1000);
      this.failed(batch, err);
    }
  }

  private succeeded(batch: Batch): void {
    this.opts.metrics.batchesForwarded.inc();
    this.opts.metrics.recordsForwarded.inc(batch.records);
    if (batch.failures > 0) this.refusedBatches--;
    this.backoff.reset();
    this.sendNotBefore = 0;
    if (this.coderdProblem) {
      this.opts.log(`forwarder: coderd is taking records again (was: ${this.coderdProblem})`);
      this.coderdProblem = null;
      this.loudAt.clear();
    }
    for (const chunk of batch.chunks) {
      chunk.entry.remaining -= chunk.logs.length;
      if (chunk.entry.remaining === 0) this.opts.spool.ack(chunk.entry.ref);
    }
  }

  private failed(batch: Batch, err: unknown): void {
    if (this.stopped) {
      this.ready.unshift(batch); // aborted at the close deadline: stays in the spool
      return;
    }
    const code = failureCode(err);
    const message = failureMessage(err);
    this.opts.metrics.batchesDropped.inc({ reason: "forward_failed" });
    this.opts.metrics.forwardRetries.inc({ code: codeName(code) });
    const now = Date.now();
    if (code === Code.InvalidArgument) return this.refused(batch, message, now);
    if (code === Code.Unauthenticated) {
      this.coderdProblem = "coderd rejected the agent token (unauthenticated)";
      this.loud("unauthenticated", `forwarder: coderd rejected the agent token (unauthenticated: ${message}); records are kept in the spool; check --agent-token`);
      this.sendNotBefore = now + this.opts.retryMaxMs;
    } else {
      this.coderdProblem =
        code === Code.ResourceExhausted ? `coderd is overloaded (resource_exhausted: ${message})` : `coderd unreachable: ${codeName(code)}: ${message}`;
      this.loud(codeName(code), `forwarder: ${this.coderdProblem}; backing off, records are kept in the spool`);
      this.sendNotBefore = Math.max(this.sendNotBefore, now + this.backoff.fail());
    }
    this.ready.unshift(batch);
  }

  /** invalid_argument: split a batch of several records; keep retrying a single one. */
  private refused(batch: Batch, message: string, now: number): void {
    if (batch.records > 1) {
      this.loud("split", `forwarder: coderd refused a batch of ${batch.records} records (invalid_argument: ${message}); splitting it and retrying`);
      if (batch.failures > 0) this.refusedBatches--;
      this.ready.unshift(...splitBatch(batch));
      return;
    }
    if (batch.failures === 0) this.refusedBatches++;
    batch.failures++;
    this.refusedMessage = message;
    const log = decodeLog(batch.chunks[0]!.logs[0]!);
    this.loud("refused", `forwarder: coderd refuses record session_id=${batch.sessionId} sequence_number=${log.sequenceNumber} (invalid_argument: ${message}); keeping it and retrying`);
    const ceiling = Math.min(this.opts.retryMaxMs, this.opts.retryInitialMs * 2 ** Math.min(batch.failures - 1, 52));
    batch.notBefore = now + Math.floor((this.opts.random ?? Math.random)() * ceiling);
    this.ready.unshift(batch);
  }

  private loud(kind: string, message: string): void {
    const now = Date.now();
    const last = this.loudAt.get(kind);
    if (last !== undefined && now - last < LOUD_REPEAT_MS) return;
    this.loudAt.set(kind, now);
    this.opts.log(message);
  }
}
