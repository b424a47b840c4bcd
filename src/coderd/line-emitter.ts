// coderd's stderr lines, driven by the store: the first consumer of stored
// records (consumer name "stderr"). It reads the records committed after its
// cursor, writes their lines in one write, and moves the cursor once the OS
// has taken the write. CursorLines does that for any LineSource; LineEmitter
// is it over boundary records (boundary_request lines), and
// process/exec-lines.ts over exec records (exec lines, their own cursor).
//
// Guarantees:
// - every committed record gets its line, in commit order: ingest only
//   stores (and wakes the emitter); the lines come from what was committed;
// - at start, what the store holds past the cursor (lines a killed coderd
//   owed) is written first;
// - lines are at least once: a crash after a write and before its cursor
//   move repeats those lines at the next start; none is lost;
// - a failed write or store read is retried every RETRY_MS, counted in
//   coderd_boundary_line_write_failures_total; ingest goes on meanwhile;
// - memory is bounded: at most LINES_PER_WRITE records are read at a time,
//   and at most MAX_OFFERED committed records are held, and written, at a
//   time (below).
//
// A store that every record reaches through this process (SQLite) also
// offers each committed batch's records (Store.onCommitted). Once a read of
// the store came back short (nothing more committed past the cursor), the
// offered records are everything committed since, so rounds take them
// instead of reading them back. Any doubt goes back to reading the store:
// a commit the store could not describe, more than MAX_OFFERED waiting
// (stderr slower than ingest), a failed write.
// Not guaranteed: a line already in the OS pipe buffer when the machine
// loses power, or held by a reader that dies.
import type { Counter } from "prom-client";
import { formatLineRecord, type LineRecord, type LogFormat } from "../record/emission.ts";
import type { CoderdMetrics } from "./metrics.ts";
import type { Store, StoredRecord } from "./store/store.ts";

export const STDERR_CONSUMER = "stderr";
/** Records read and written per round. */
export const LINES_PER_WRITE = 1000;
/**
 * Committed records held for their lines, at most (about 10 MiB); past it
 * they are read back from the store instead. One group commit can bring
 * 64 batches of up to 1000 records; this holds what a burst of them brings
 * while the previous lines are still being written.
 */
export const MAX_OFFERED = 20 * LINES_PER_WRITE;
const RETRY_MS = 1000;

/** Writes a chunk; resolves once the OS has taken it. */
export type Writer = (chunk: string) => void | Promise<void>;

/** process.stderr as a Writer that resolves when the bytes are written, not just queued. */
export const stderrWriter: Writer = (chunk) =>
  new Promise<void>((resolve, reject) => process.stderr.write(chunk, (err) => (err ? reject(err) : resolve())));

/** The line of a stored record: identity as stored with its session. */
export function lineOfStored(r: StoredRecord): LineRecord {
  return {
    allowed: r.decision === "allow",
    sessionId: r.session_id,
    sequenceNumber: r.sequence_number,
    workspace: {
      workspaceId: r.workspace_id,
      workspaceName: r.workspace_name,
      ownerName: r.owner_name,
      templateId: r.template_id,
      templateVersionId: r.template_version_id,
    },
    confinedProcessName: r.confined_process_name,
    httpMethod: r.http_method,
    httpUrl: r.http_url,
    matchedRule: r.matched_rule,
    eventTime: r.event_time,
  };
}

/** Stored records one consumer takes in order: what is past its cursor, and how to move it. */
export interface LineSource<R extends { id: number }> {
  unconsumed(limit: number): Promise<R[]>;
  advance(lastId: number): Promise<void>;
  /** The record's line, without the newline. */
  line(record: R, now: Date): string;
}

/** A store's records past the "stderr" consumer's cursor, with `line` as their lines. */
export function stderrSourceOf<R extends { id: number }>(
  store: { unconsumed(consumer: string, limit: number): Promise<R[]>; advanceCursor(consumer: string, lastId: number): Promise<void> },
  line: (record: R, now: Date) => string,
): LineSource<R> {
  return {
    unconsumed: (limit) => store.unconsumed(STDERR_CONSUMER, limit),
    advance: (lastId) => store.advanceCursor(STDERR_CONSUMER, lastId),
    line,
  };
}

export interface CursorLinesOptions<R extends { id: number }> {
  source: LineSource<R>;
  write: Writer;
  counters: { linesWritten: Counter; lineWriteFailures: Counter };
  now: () => Date;
  /**
   * Also look for records every pollMs: with a store shared by replicas,
   * records another replica stored (or claimed and died) reach no wake().
   */
  pollMs?: number;
  /** Hands `offer` to a store that tells of each commit (Store.onCommitted); absent, every round reads the store. */
  subscribe?: (offer: (records: R[] | null) => void) => void;
}

export interface LineEmitterOptions extends Omit<CursorLinesOptions<StoredRecord>, "source" | "counters"> {
  store: Store;
  format: LogFormat;
  metrics: CoderdMetrics;
}

/** Writes a LineSource's records past its cursor, in order, at least once. */
export class CursorLines<R extends { id: number }> {
  private running: Promise<void> | null = null;
  private woken = false;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;
  /** Committed records offered since the last read of the store began, in id order. */
  private offered: R[] = [];
  /** True while `offered` holds everything committed past the last line written. */
  private fromMemory = false;
  private reading = false;
  private gapWhileReading = false;
  /** Id of the last record whose line was written and cursor moved. */
  private lastId = 0;

  constructor(private readonly opts: CursorLinesOptions<R>) {
    if (opts.pollMs) this.poll = setInterval(() => this.wake(), opts.pollMs);
    opts.subscribe?.((records) => this.offer(records));
  }

  /** Records just committed, in commit order; null for a commit whose records are not known. */
  private offer(records: R[] | null): void {
    if (records === null || this.offered.length + records.length > MAX_OFFERED) {
      this.forgetOffered();
      this.wake(); // what was not taken is in the store: go and read it
      return;
    }
    // Outside a read and away from memory the next read sees them anyway.
    if (this.fromMemory || this.reading) for (const r of records) this.offered.push(r);
  }

  /** Back to reading the store: what was offered may not be all there is. */
  private forgetOffered(): void {
    this.offered = [];
    this.fromMemory = false;
    if (this.reading) this.gapWhileReading = true;
  }

  /** Something was committed (or we are starting): write what the store holds past the cursor. */
  wake(): void {
    if (this.stopped) return;
    this.woken = true;
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Resolves once every record committed before the call has its line written (or a write failed). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Writes what is committed and not yet written, for at most `waitMs`, then
   * stops; what is left (stderr blocked or failing) is written at the next start.
   */
  async stop(waitMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.settled(), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.poll);
  }

  private async drain(): Promise<void> {
    while (this.woken && !this.stopped) {
      this.woken = false;
      try {
        while (!this.stopped && (await this.writeRound()));
      } catch {
        // stderr or the store failed: nothing to report to but the metric.
        // The records of the failed round are read back from the store on the retry.
        this.forgetOffered();
        this.opts.counters.lineWriteFailures.inc();
        if (!this.stopped) this.retry = setTimeout(() => this.wake(), RETRY_MS);
        return;
      }
    }
  }

  /**
   * One read (or take from memory) → write → cursor move; true when more
   * may be waiting (a full read, or records offered meanwhile).
   */
  private async writeRound(): Promise<boolean> {
    const { source, counters } = this.opts;
    const fromMemory = this.fromMemory;
    const records = fromMemory ? this.takeOffered() : await this.readStore();
    if (records.length === 0) return false;
    const now = this.opts.now();
    let chunk = "";
    for (const r of records) chunk += `${source.line(r, now)}\n`;
    await this.opts.write(chunk);
    const lastId = records[records.length - 1]!.id;
    await source.advance(lastId);
    this.lastId = lastId;
    counters.linesWritten.inc(records.length);
    return fromMemory ? this.offered.length > 0 : records.length === LINES_PER_WRITE;
  }

  /** What the store holds past the cursor; a short answer means `offered` now carries on from it. */
  private async readStore(): Promise<R[]> {
    // Everything offered so far is committed, so this read sees it.
    this.offered = [];
    this.reading = true;
    this.gapWhileReading = false;
    try {
      const records = await this.opts.source.unconsumed(LINES_PER_WRITE);
      this.fromMemory = this.opts.subscribe !== undefined && records.length < LINES_PER_WRITE && !this.gapWhileReading;
      return records;
    } finally {
      this.reading = false;
    }
  }

  /**
   * Every offered record past the last line written (a read may have
   * covered some), in one write: a round waits for its cursor move, which
   * queues behind the commits on the writer thread, so taking all of them
   * keeps the lines up with ingest.
   */
  private takeOffered(): R[] {
    let skip = 0;
    while (skip < this.offered.length && this.offered[skip]!.id <= this.lastId) skip++;
    const records = skip === 0 ? this.offered : this.offered.slice(skip);
    this.offered = [];
    return records;
  }
}

/** boundary_request lines of the boundary records past the "stderr" cursor. */
export class LineEmitter extends CursorLines<StoredRecord> {
  constructor(opts: LineEmitterOptions) {
    const { store, format } = opts;
    super({
      source: stderrSourceOf(store, (r, now) => formatLineRecord(format, lineOfStored(r), now)),
      write: opts.write,
      counters: opts.metrics,
      now: opts.now,
      pollMs: opts.pollMs,
      subscribe: store.onCommitted?.bind(store),
    });
  }
}
