// The forwarder: reads unacknowledged entries from the spool in order,
// coalesces each session's records into requests (batch.ts), sends them to
// coderd with at most maxInFlight in flight (one forwarder per spool; its
// RequestKind, kinds.ts, says whether it carries boundary or exec records), and acks spool entries once
// every one of their records is either taken by coderd or quarantined.
//
// Guarantees:
// - a record leaves the spool only when coderd acknowledged it, or when
//   coderd refused it on its own as invalid_argument and it is on disk in the
//   quarantine (quarantine.ts), counted in logs_dropped_total{reason="invalid"};
// - coderd away, failing or busy (every code but the two below, and network
//   failures: rpc/failure.ts) → the link backs off (link.ts, RetryTiming) and
//   the same request goes again; each attempt counts in
//   batches_dropped_total{reason="forward_failed"} and
//   forward_retries_total{code}; nothing is dropped;
// - unauthenticated → not ready, loud on stderr, retried every retry_max;
// - invalid_argument → the batch is split in halves, sent again at once, until
//   each refused record is alone; that record goes to the quarantine. A
//   refused record never waits for a retry, so it holds no in-flight slot
//   and never stops the spool reader;
// - entries an older run spooled are checked against the record rules
//   (the kind's check: src/record/validity.ts for boundary records, whose
//   socket checked this run's; src/process/validity.ts for exec records): invalid records
//   go to the quarantine unsent, and an entry that is not a request at all
//   goes there whole, counted as one record;
// - on close, what is not delivered by the deadline stays in the spool.
// Not guaranteed: order across sessions; a record is sent again after a
// crash or when its request's answer is lost (coderd de-duplicates).
//
// Public API:
//   const f = new Forwarder(options); f.start();
//   f.notReadyReason() → null, or why coderd is not taking records;
//   await f.close(deadline) → delivers what it can until `deadline` (ms since
//     the epoch), then aborts what is in flight; the rest stays in the spool.
import { classifySendFailure, type SendFailure } from "../../rpc/index.ts";
import type { DeliveryMetrics } from "../metrics.ts";
import type { EntryRef, LogFn, SpoolEntry } from "../spool/spool.ts";
import type { RetryTiming } from "./backoff.ts";
import { describeInvalid, type InvalidField } from "../../record/validity.ts";
import {
  Coalescer, logBytes, singleRecordBatch, splitBatch,
  type Batch, type EncodedLog, type ScannedRequest, type TrackedEntry,
} from "./batch.ts";
import type { RequestKind } from "./kinds.ts";
import { afterFailure, LINK_UP, notReadyReason, sendsAllowedAt, type Link } from "./link.ts";
import type { Quarantine, QuarantinedRecord } from "./quarantine.ts";
import { serial } from "./serial.ts";

/** Sends one request; resolves when coderd acknowledged it, throws otherwise. */
export type SendFn<Req> = (request: Req, signal: AbortSignal) => Promise<void>;

/** What the forwarder needs of the spool. */
export interface ForwarderSpool {
  next(): Promise<SpoolEntry | null>;
  ack(ref: EntryRef): void;
  onAppend(listener: () => void): () => void;
}

export type ForwarderMetrics = Pick<
  DeliveryMetrics,
  "batchesForwarded" | "recordsForwarded" | "batchesDropped" | "forwardRetries" | "forwardDuration" | "logsDropped"
>;

export interface ForwarderOptions<Req> {
  spool: ForwarderSpool;
  /** What the spool's entries are (BOUNDARY_KIND, EXEC_KIND). */
  kind: RequestKind<Req>;
  send: SendFn<Req>;
  quarantine: Quarantine;
  batchMaxRecords: number;
  batchMaxBytes: number;
  batchDelayMs: number;
  maxInFlight: number;
  retry: RetryTiming;
  metrics: ForwarderMetrics;
  /** stderr logger for loud, rate-limited messages. */
  log: LogFn;
}

/** running → draining (close() called: send what is left) → stopped. */
type Lifecycle = "running" | "draining" | "stopped";

/** The spool reader: more may come; nothing more until the next append; reading failed, try again at retryAt. */
type Reader = { kind: "reading" } | { kind: "drained" } | { kind: "failed"; retryAt: number };

/** The same loud message is repeated at most this often. */
const LOUD_REPEAT_MS = 30_000;

export class Forwarder<Req> {
  private readonly coalescer: Coalescer;
  private readonly kick: () => void;
  private lifecycle: Lifecycle = "running";
  private link: Link = LINK_UP;
  private reader: Reader = { kind: "reading" };
  /** Sealed batches waiting for an in-flight slot, oldest first. */
  private ready: Batch[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Refused records being written to the quarantine (they hold no slot). */
  private readonly quarantining = new Set<Promise<void>>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private unsubscribe: (() => void) | null = null;
  private readonly loudAt = new Map<string, number>();
  /** Entries appended before this (ms since the epoch) come from an older run. */
  private readonly startedAt = Date.now();

  constructor(private readonly opts: ForwarderOptions<Req>) {
    this.coalescer = new Coalescer({ maxRecords: opts.batchMaxRecords, maxBytes: opts.batchMaxBytes });
    this.kick = serial(() => this.pump());
  }

  start(): void {
    this.unsubscribe = this.opts.spool.onAppend(() => {
      if (this.reader.kind === "drained") this.reader = { kind: "reading" };
      this.kick();
    });
    this.kick();
  }

  notReadyReason(): string | null {
    return notReadyReason(this.link);
  }

  /** Delivers what it can until `deadline`, then stops; undelivered records stay in the spool. */
  async close(deadline: number): Promise<void> {
    if (this.lifecycle !== "running") return;
    this.lifecycle = "draining";
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const timeout = setTimeout(() => void this.stop(), Math.max(0, deadline - Date.now()));
    this.kick();
    await idle;
    clearTimeout(timeout);
    await this.stop();
  }

  // ------------------------------------------------------------ the pump

  private async pump(): Promise<void> {
    if (this.lifecycle === "stopped") return;
    try {
      await this.fill();
      this.sealDue();
      this.dispatch();
    } catch (err) {
      this.opts.log(`forwarder: reading the spool failed: ${err instanceof Error ? err.message : String(err)}; retrying`);
      this.reader = { kind: "failed", retryAt: Date.now() + this.opts.retry.initialMs };
    }
    this.schedule();
    this.checkIdle();
  }

  /** Reads spool entries into batches while there is room for them. */
  private async fill(): Promise<void> {
    if (this.reader.kind === "failed") {
      if (Date.now() < this.reader.retryAt) return;
      this.reader = { kind: "reading" };
    }
    const maxRecords = this.opts.batchMaxRecords * this.opts.maxInFlight;
    const maxBytes = this.opts.batchMaxBytes * this.opts.maxInFlight;
    while (
      this.lifecycle !== "stopped" &&
      this.reader.kind === "reading" &&
      this.ready.length < this.opts.maxInFlight &&
      this.coalescer.bufferedRecords < maxRecords &&
      this.coalescer.bufferedBytes < maxBytes
    ) {
      const entry = await this.opts.spool.next();
      if (entry) this.addEntry(entry);
      else this.reader = { kind: "drained" };
    }
    // The buffer is at its bound with no batch full (many sessions): send what there is.
    if (this.ready.length === 0 && this.reader.kind === "reading") this.ready.push(...this.coalescer.takeOpenedBy(Infinity));
  }

  private addEntry(entry: SpoolEntry): void {
    const now = Date.now();
    let request: ScannedRequest;
    try {
      request = this.opts.kind.scan(entry.body);
    } catch (err) {
      // Not even a request: its bytes go to the quarantine whole, as one record.
      const whole = singleRecordBatch({ ref: entry, remaining: 1 }, { sessionId: "", confinedProcessName: "", logs: [] }, entry.body, now);
      this.isolate(whole, `malformed spool entry ${entry.segment}:${entry.offset}: ${err instanceof Error ? err.message : String(err)}`, entry.body);
      return;
    }
    if (request.logs.length === 0) {
      this.opts.spool.ack(entry);
      return;
    }
    // The socket checked what this run appended; what an older agent spooled is checked now.
    const invalid = entry.time < this.startedAt ? this.opts.kind.check(entry.body) : null;
    if (invalid) return this.addChecked(entry, request, invalid, now);
    this.ready.push(...this.coalescer.add(entry, request, entry.body.length, now));
  }

  /** An entry breaking the record rules (src/record/validity.ts): its invalid records go to the quarantine, the rest on. */
  private addChecked(entry: SpoolEntry, request: ScannedRequest, invalid: InvalidField, now: number): void {
    const tracked: TrackedEntry = { ref: entry, remaining: request.logs.length };
    const perRecord = /^[a-z_]+\[/.test(invalid.field); // "logs[3].…", "execs[3].…": one record's fault
    const valid: EncodedLog[] = [];
    for (const log of request.logs) {
      const problem = perRecord ? this.opts.kind.check(this.opts.kind.requestOfOne(log, request)) : invalid;
      if (problem) this.isolate(singleRecordBatch(tracked, request, log, now), `invalid record (the agent's check): ${describeInvalid(problem)}`);
      else valid.push(log);
    }
    const bytes = Math.ceil((entry.body.length * valid.length) / request.logs.length);
    this.ready.push(...this.coalescer.add(entry, { ...request, logs: valid }, bytes, now, tracked));
  }

  private sealDue(): void {
    const cutoff = this.lifecycle === "draining" ? Infinity : Date.now() - this.opts.batchDelayMs;
    this.ready.push(...this.coalescer.takeOpenedBy(cutoff));
  }

  private dispatch(): void {
    if (this.lifecycle === "stopped" || Date.now() < sendsAllowedAt(this.link)) return;
    while (this.inFlight.size < this.opts.maxInFlight && this.ready.length > 0) {
      const sending = this.sendBatch(this.ready.shift()!);
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
    if (this.lifecycle === "stopped") return;
    let wake = Infinity;
    if (this.ready.length > 0 && this.inFlight.size < this.opts.maxInFlight) wake = sendsAllowedAt(this.link);
    if (this.reader.kind === "failed") wake = Math.min(wake, this.reader.retryAt);
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
    if (this.lifecycle !== "draining") return;
    const idle =
      this.reader.kind === "drained" && this.coalescer.size === 0 && this.ready.length === 0 && this.inFlight.size === 0 && this.quarantining.size === 0;
    if (idle) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async stop(): Promise<void> {
    if (this.lifecycle !== "stopped") {
      this.lifecycle = "stopped";
      this.unsubscribe?.();
      if (this.timer) clearTimeout(this.timer);
      this.abort.abort();
    }
    await Promise.allSettled([...this.inFlight, ...this.quarantining]);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  // ------------------------------------------------------------ one request

  private async sendBatch(batch: Batch): Promise<void> {
    const started = performance.now();
    let failure: SendFailure | null = null;
    try {
      await this.opts.send(this.opts.kind.build(batch), this.abort.signal);
    } catch (err) {
      failure = classifySendFailure(err, this.abort.signal);
    }
    this.opts.metrics.forwardDuration.observe((performance.now() - started) / 1000);
    if (failure) this.failed(batch, failure);
    else this.succeeded(batch);
  }

  private succeeded(batch: Batch): void {
    this.opts.metrics.batchesForwarded.inc();
    this.opts.metrics.recordsForwarded.inc(batch.records);
    if (this.link.kind !== "up") {
      this.opts.log(`forwarder: coderd is taking records again (was: ${this.link.reason})`);
      this.link = LINK_UP;
      this.loudAt.clear();
    }
    this.settle(batch);
  }

  /** Every record of `batch` is with coderd or in the quarantine: ack the entries that are now complete. */
  private settle(batch: Batch): void {
    for (const chunk of batch.chunks) {
      chunk.entry.remaining -= chunk.logs.length;
      if (chunk.entry.remaining === 0) this.opts.spool.ack(chunk.entry.ref);
    }
  }

  private failed(batch: Batch, f: SendFailure): void {
    if (f.kind === "aborted") {
      this.ready.unshift(batch); // aborted at the close deadline: stays in the spool
      return;
    }
    if (f.kind === "refused" && batch.records === 1) return this.isolate(batch, `invalid_argument: ${f.message}`);
    this.opts.metrics.batchesDropped.inc({ reason: "forward_failed" });
    this.opts.metrics.forwardRetries.inc({ code: f.code });
    if (f.kind === "refused") {
      this.loud("split", `forwarder: coderd refused a batch of ${batch.records} records (invalid_argument: ${f.message}); splitting it to find the refused record(s)`);
      this.ready.unshift(...splitBatch(batch));
      return;
    }
    this.link = afterFailure(this.link, f, Date.now(), this.opts.retry);
    const advice = f.kind === "unauthenticated" ? `; records are kept in the spool; check --agent-token (${f.message})` : "; backing off, records are kept in the spool";
    this.loud(f.code, `forwarder: ${notReadyReason(this.link)}${advice}`);
    this.ready.unshift(batch);
  }

  /**
   * A record refused on its own (by coderd, or by the record rules): quarantine
   * it, count it, then ack it. Retries the write, never the send. `bytes` are
   * what to keep when the batch's one "record" is not a BoundaryLog.
   */
  private isolate(batch: Batch, reason: string, bytes?: Uint8Array): void {
    const encoded = batch.chunks[0]!.logs[0]!;
    let sequenceNumber: number | null = null;
    if (!bytes) {
      try {
        sequenceNumber = this.opts.kind.sequenceOf(encoded);
      } catch {
        // not even a record: quarantined as bytes
      }
    }
    const record: QuarantinedRecord = {
      sessionId: batch.sessionId,
      confinedProcessName: batch.processName,
      sequenceNumber,
      record: bytes ?? logBytes(encoded),
      reason,
    };
    const writing = this.quarantineRecord(batch, record);
    this.quarantining.add(writing);
    void writing.finally(() => {
      this.quarantining.delete(writing);
      this.kick();
    });
  }

  private async quarantineRecord(batch: Batch, record: QuarantinedRecord): Promise<void> {
    const what = `record session_id=${record.sessionId} sequence_number=${record.sequenceNumber ?? "?"}`;
    for (let failures = 1; this.lifecycle !== "stopped"; failures++) {
      try {
        const path = await this.opts.quarantine.put([record]);
        this.opts.metrics.logsDropped.inc({ reason: "invalid" });
        this.loud("quarantined", `forwarder: ${what} is refused (${record.reason}); moved it to ${path} and counted it in logs_dropped_total{reason="invalid"}`);
        this.settle(batch);
        return;
      } catch (err) {
        this.loud("quarantine_failed", `forwarder: cannot write refused ${what} to the quarantine ${this.opts.quarantine.dir} (${err instanceof Error ? err.message : String(err)}); it stays in the spool, retrying`);
        await this.sleep(this.opts.retry.delay(failures));
      }
    }
    // Stopped before it was written: the record stays in the spool for the next run.
  }

  /** Resolves after `ms`, or at once when the forwarder stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener("abort", done);
    });
  }

  private loud(kind: string, message: string): void {
    const now = Date.now();
    const last = this.loudAt.get(kind);
    if (last !== undefined && now - last < LOUD_REPEAT_MS) return;
    this.loudAt.set(kind, now);
    this.opts.log(message);
  }
}
