// The agent's durable spool: a directory of append-only segment files
// (format.ts) holding every accepted batch until coderd acknowledged it.
//
// Public API (all the integrator needs):
//   const spool = await Spool.open({ dir, maxBytes, segmentBytes, fsync, fsyncIntervalMs, metrics, log })
//     throws SpoolDirError (path + errno message) when the directory cannot be used.
//   await spool.append(body, records) → true once durable per the fsync policy,
//     false when the batch was dropped (counted in logs_dropped_total by
//     `records`: reason "spool_full" over budget, "spool_write_failed" when
//     the write failed, e.g. a full disk; the next append tries again).
//   await spool.next()  → the oldest entry not yet handed out, or null for now.
//   spool.ack(entry)    → coderd has it; a segment file is deleted once all of
//     its entries are acknowledged (acks may come in any order).
//   spool.onAppend(cb)  → called after each append (the forwarder's wake-up).
//   spool.state()       → bytes, segments, budget, whether the last append was dropped.
//   await spool.close() → flushes and closes; unacknowledged entries stay on disk.
//
// Guarantees:
// - an append that resolved true is replayed after a restart or crash until
//   acknowledged (duplicates are fine: coderd de-duplicates); the fsync
//   policy decides what survives a power loss;
// - the directory's segment files never grow past maxBytes; segments are
//   at most a quarter of it (spoolSegmentBytes), and the live segment is
//   rolled (closed, then deleted) once everything in it is acknowledged: at
//   once when the spool is short of room or writes fail, else after
//   ROLL_IDLE_MS without new appends. So acknowledged bytes come back;
// - a damaged part of a segment (bad magic, checksum, length, a torn tail)
//   costs only the bytes that are damaged: reading resumes at the next
//   intact entry. The damaged bytes are copied to corrupt/ in the spool
//   directory and counted in spool_corrupt_bytes_total, and their records,
//   where the count can still be read, in logs_dropped_total{reason="spool_corrupt"};
// - a segment deleted by something else (or that cannot be opened, e.g.
//   EACCES) is skipped, said once, and counted (spool_segments_missing_total,
//   and its records when this run wrote them in
//   logs_dropped_total{reason="spool_missing"}); running out of file
//   descriptors is retried instead;
// - files and folders in the directory that are not segments (quarantine/,
//   corrupt/, a directory named like a segment) are left alone.
// Not guaranteed: corrupt/ is outside the budget (an operator empties it);
// a record whose write failed is dropped, not retried (counted, above).
//
// After a crash, open() finds the old segments and next() replays all of
// their entries. New appends always go to a fresh segment, so a torn tail
// of an old one is never appended to.
import { basename, join } from "node:path";
import type { DeliveryMetrics } from "../metrics.ts";
import {
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  countRecords,
  encodeEntry,
  entryBytes,
  isSegmentMagic,
  parseSegmentFileName,
  segmentFileName,
} from "./format.ts";
import { errnoOf, nodeFs, type SpoolFile, type SpoolFs } from "./fs.ts";
import { SegmentReader } from "./reader.ts";

export type FsyncPolicy = "always" | "interval" | "never";
export type LogFn = (message: string) => void;
export type SpoolMetrics = Pick<
  DeliveryMetrics,
  "spoolBytes" | "spoolSegments" | "spoolOldestAge" | "logsDropped" | "spoolCorruptBytes" | "spoolWriteErrors" | "spoolSegmentsMissing"
>;

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  fsync: FsyncPolicy;
  /** Group-commit period for fsync "interval", in ms. */
  fsyncIntervalMs: number;
  metrics: SpoolMetrics;
  log: LogFn;
  /** Field number of the records in an entry's request, to count a damaged entry's records (default 1, `logs`). */
  recordsField?: number;
  /** Clock, for tests; ms since the epoch. */
  now?: () => number;
  /** The filesystem, for tests that need it to fail; node:fs by default. */
  fs?: SpoolFs;
}

/** Where an entry lives; what ack() takes. */
export interface EntryRef {
  segment: number;
  offset: number;
}

export interface SpoolEntry extends EntryRef {
  /** When it was appended (ms since the epoch). */
  time: number;
  /** The encoded request (ReportBoundaryLogsRequest; ReportProcessLogsRequest in the exec spool). */
  body: Uint8Array;
}

export type SpoolDropReason = "spool_full" | "spool_write_failed";

export interface SpoolState {
  bytes: number;
  segments: number;
  maxBytes: number;
  /** True when the last append was dropped (until one succeeds). */
  full: boolean;
  /** Why the last append was dropped, while `full`. */
  dropReason: SpoolDropReason | null;
}

/** The spool directory cannot be created or written; the CLI exits 2. */
export class SpoolDirError extends Error {
  constructor(
    readonly path: string,
    readonly cause: unknown,
  ) {
    super(`spool directory ${path} is not usable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "SpoolDirError";
  }
}

/** The smallest budget: room for a few segments of the largest batch (a 32 KiB frame). */
export const MIN_SPOOL_MAX_BYTES = 64 * 1024;

/** Why `maxBytes` cannot be the spool's budget, or null when it can. */
export function spoolBudgetProblem(maxBytes: number): string | null {
  if (maxBytes >= MIN_SPOOL_MAX_BYTES) return null;
  return `is ${maxBytes} bytes; the spool needs at least ${MIN_SPOOL_MAX_BYTES} (64KiB) to hold two segments of the largest batch`;
}

/** Segment size for a budget: the configured size, but at most a quarter of the budget. */
export function spoolSegmentBytes(maxBytes: number, segmentBytes: number): number {
  return Math.min(segmentBytes, Math.floor(maxBytes / 4));
}

interface Segment {
  /** The spool's own handle (EntryRef.segment); file numbers may be past 2^53. */
  id: number;
  path: string;
  /** Bytes on disk (for the live segment: bytes whose writes completed). */
  size: number;
  /** Offset of the first entry: after the magic, or 0 when the magic is damaged. */
  firstEntry: number;
  /** Records appended by this run; null for a segment a previous run left. */
  records: number | null;
  /** No more appends go here. */
  sealed: boolean;
  /** Entries handed out by next(). */
  handedOut: number;
  acked: number;
  /** next() has gone past its last entry. */
  readDone: boolean;
  deleting: boolean;
}

interface FoundSegment {
  path: string;
  size: number;
  magicOk: boolean;
}

/** A spool hovering at its budget logs "spool full" at most this often. */
const FULL_LOG_INTERVAL_MS = 60_000;
/** A fully acknowledged live segment is rolled after this long without appends. */
const ROLL_IDLE_MS = 1000;
/** A damaged range up to this size is read whole, to count its records. */
const COUNTABLE_DAMAGE_BYTES = 4 * 1024 * 1024;
const CORRUPT_DIR = "corrupt";
/** Open failures worth retrying (the forwarder does); any other makes a segment lost. */
const TRANSIENT_OPEN_ERRORS = new Set(["EMFILE", "ENFILE", "EAGAIN", "EINTR", "ENOMEM"]);

export class Spool {
  private readonly segments = new Map<number, Segment>(); // insertion order = append order
  private live: { segment: Segment; file: SpoolFile } | null = null;
  private reader: { segment: Segment; file: SpoolFile; cursor: SegmentReader } | null = null;
  private readonly outstanding = new Map<string, { segment: Segment; time: number }>();
  private totalBytes = 0;
  private nextSegmentId = 1;
  private nextFileNumber: bigint;
  private readonly segmentBytes: number;
  private dropReason: SpoolDropReason | null = null;
  private lastDropLog = { reason: null as SpoolDropReason | null, at: -Infinity };
  private closed = false;
  private lastReadTime: number | null = null;
  private writeChain: Promise<unknown> = Promise.resolve();
  private readChain: Promise<unknown> = Promise.resolve();
  private syncWaiters: Array<() => void> = [];
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private rollTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly appendListeners = new Set<() => void>();
  private readonly deletions = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly fs: SpoolFs;

  private constructor(
    private readonly opts: SpoolOptions,
    { found, highestNumber }: { found: FoundSegment[]; highestNumber: bigint },
  ) {
    this.now = opts.now ?? Date.now;
    this.fs = opts.fs ?? nodeFs;
    this.segmentBytes = spoolSegmentBytes(opts.maxBytes, opts.segmentBytes);
    for (const f of found) {
      const segment = this.addSegment(f.path, f.size, f.magicOk ? SEGMENT_HEADER_BYTES : 0, null);
      segment.sealed = true;
    }
    this.nextFileNumber = highestNumber + 1n;
    // Read when scraped; appends and acks only keep their own counts.
    const m = opts.metrics;
    m.spoolBytes.read = () => this.totalBytes;
    m.spoolSegments.read = () => this.segments.size;
    m.spoolOldestAge.read = () => {
      const oldest = this.oldestUnackedTime();
      return oldest === null ? 0 : Math.max(0, (this.now() - oldest) / 1000);
    };
  }

  /** Opens (creating) the spool directory and finds what a previous run left. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const budget = spoolBudgetProblem(opts.maxBytes);
    if (budget) throw new RangeError(`spool maxBytes ${budget}`);
    const fs = opts.fs ?? nodeFs;
    await ensureWritableDir(fs, opts.dir);
    const seen = await findSegments(fs, opts.dir, opts.log);
    const { found } = seen;
    if (found.length > 0) {
      const bytes = found.reduce((n, s) => n + s.size, 0);
      opts.log(`spool: replaying ${found.length} segment(s), ${bytes} bytes, left by a previous run in ${opts.dir}`);
    }
    const segmentBytes = spoolSegmentBytes(opts.maxBytes, opts.segmentBytes);
    if (segmentBytes < opts.segmentBytes) {
      opts.log(`spool: segments of ${segmentBytes} bytes, a quarter of the ${opts.maxBytes}-byte budget (--spool-segment-bytes is ${opts.segmentBytes})`);
    }
    return new Spool(opts, seen);
  }

  state(): SpoolState {
    const full = this.dropReason !== null;
    return { bytes: this.totalBytes, segments: this.segments.size, maxBytes: this.opts.maxBytes, full, dropReason: this.dropReason };
  }

  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /**
   * Appends one batch. Resolves true once written (and fsynced per policy),
   * false when dropped because the spool is at its budget or the write failed.
   */
  append(body: Uint8Array, records: number): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error("spool is closed"));
    const written = this.serializeWrite(() => this.writeEntry(body, records));
    return written.then(async (ok) => {
      if (ok && this.opts.fsync === "interval") await this.awaitGroupSync();
      return ok;
    });
  }

  /** The oldest entry not handed out yet, or null when there is none for now. */
  next(): Promise<SpoolEntry | null> {
    return this.serializeRead(() => this.readNext());
  }

  /** Marks an entry handed out by next() as delivered. Unknown or repeated refs are ignored. */
  ack(ref: EntryRef): void {
    const key = refKey(ref);
    const entry = this.outstanding.get(key);
    if (!entry) return;
    this.outstanding.delete(key);
    entry.segment.acked++;
    if (entry.segment === this.live?.segment) this.considerRoll();
    else this.maybeDelete(entry.segment);
  }

  /** Time of the oldest entry coderd has not acknowledged, or null when none. */
  oldestUnackedTime(): number | null {
    let oldest: number | null = null;
    for (const { time } of this.outstanding.values()) if (oldest === null || time < oldest) oldest = time;
    if (oldest !== null) return oldest;
    return this.hasUnread() ? (this.lastReadTime ?? this.now()) : null;
  }

  /** Resolves once the appends, reads, rolls and deletions begun so far have finished. */
  async settled(): Promise<void> {
    await this.readChain;
    await this.writeChain;
    await Promise.all([...this.deletions]);
  }

  /** Stops appends, fsyncs, closes files; unacknowledged entries stay for the next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rollTimer) clearTimeout(this.rollTimer);
    await this.serializeWrite(async () => {
      await this.sealLive();
      return true;
    });
    await this.readChain;
    if (this.reader) {
      const { segment, cursor, file } = this.reader;
      if (segment.sealed && cursor.position >= segment.size) segment.readDone = true;
      this.reader = null;
      await file.close().catch(() => {});
      this.maybeDelete(segment);
    }
    await this.writeChain;
    await Promise.all([...this.deletions]);
    this.appendListeners.clear();
  }

  // ------------------------------------------------------------ writing

  private serializeWrite(task: () => Promise<boolean>): Promise<boolean> {
    const result = this.writeChain.then(task);
    this.writeChain = result.catch(() => {});
    return result;
  }

  private async writeEntry(body: Uint8Array, records: number): Promise<boolean> {
    const size = entryBytes(body.length);
    const needsSegment = !this.live || (this.live.segment.size + size > this.segmentBytes && this.live.segment.size > SEGMENT_HEADER_BYTES);
    const needed = size + (needsSegment ? SEGMENT_HEADER_BYTES : 0);
    if (this.totalBytes + needed > this.opts.maxBytes) return this.drop("spool_full", records, `spool full (${this.totalBytes} of ${this.opts.maxBytes} bytes)`);
    try {
      if (needsSegment) await this.startSegment();
      const live = this.live!;
      const position = live.segment.size;
      try {
        await writeFully(live.file, encodeEntry(body, this.now()), position);
      } catch (err) {
        await live.file.truncate(position).catch(() => {});
        throw err;
      }
      live.segment.size += size;
      live.segment.records = (live.segment.records ?? 0) + records;
      this.totalBytes += size;
      if (this.opts.fsync === "always") await live.file.sync();
    } catch (err) {
      this.opts.metrics.spoolWriteErrors.inc();
      return this.drop("spool_write_failed", records, `spool write failed (${errorMessage(err)})`);
    }
    this.dropReason = null;
    for (const listener of this.appendListeners) listener();
    return true;
  }

  private drop(reason: SpoolDropReason, records: number, why: string): false {
    const now = this.now();
    if (reason !== this.lastDropLog.reason || now - this.lastDropLog.at >= FULL_LOG_INTERVAL_MS) {
      this.lastDropLog = { reason, at: now };
      this.opts.log(`${why}; dropping records until it takes them again (counted in logs_dropped_total{reason="${reason}"})`);
    }
    this.dropReason = reason;
    this.opts.metrics.logsDropped.inc({ reason }, records);
    // A full disk may be full of acknowledged records: give them back.
    this.considerRoll();
    return false;
  }

  private async startSegment(): Promise<void> {
    await this.sealLive();
    const path = join(this.opts.dir, segmentFileName(this.nextFileNumber++));
    const file = await this.fs.open(path, "wx");
    try {
      await writeFully(file, SEGMENT_MAGIC, 0);
      if (this.opts.fsync !== "never") await syncDir(this.fs, this.opts.dir);
    } catch (err) {
      await file.close().catch(() => {});
      await this.fs.unlink(path).catch(() => {});
      throw err;
    }
    this.live = { segment: this.addSegment(path, SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES, 0), file };
  }

  private addSegment(path: string, size: number, firstEntry: number, records: number | null): Segment {
    const segment: Segment = { id: this.nextSegmentId++, path, size, firstEntry, records, sealed: false, handedOut: 0, acked: 0, readDone: false, deleting: false };
    this.segments.set(segment.id, segment);
    this.totalBytes += size;
    return segment;
  }

  /** Ends the live segment: covers pending group syncs, closes it. */
  private async sealLive(): Promise<void> {
    const live = this.live;
    if (!live) return;
    this.live = null;
    if (this.opts.fsync !== "never") await live.file.sync().catch((err) => this.opts.log(`spool: fsync of ${live.segment.path} failed: ${errorMessage(err)}`));
    this.releaseSyncWaiters();
    await live.file.close().catch(() => {});
    live.segment.sealed = true;
    this.maybeDelete(live.segment);
  }

  private awaitGroupSync(): Promise<void> {
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      if (this.syncTimer) return;
      this.syncTimer = setTimeout(() => {
        this.syncTimer = null;
        void this.serializeWrite(async () => {
          const waiters = this.takeSyncWaiters();
          if (this.live) await this.live.file.sync().catch((err) => this.opts.log(`spool: fsync failed: ${errorMessage(err)}`));
          for (const w of waiters) w();
          return true;
        });
      }, this.opts.fsyncIntervalMs);
    });
  }

  private takeSyncWaiters(): Array<() => void> {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    return waiters;
  }

  private releaseSyncWaiters(): void {
    for (const w of this.takeSyncWaiters()) w();
  }

  // ------------------------------------------------------------ rolling

  /** True when the live segment holds entries and every one was read and acknowledged. */
  private liveFullyAcked(): boolean {
    const segment = this.live?.segment;
    if (!segment || segment.size <= SEGMENT_HEADER_BYTES || segment.acked !== segment.handedOut) return false;
    return this.reader?.segment === segment && this.reader.cursor.position >= segment.size;
  }

  /** Short of room: dropping, or less than a segment left in the budget. */
  private underPressure(): boolean {
    return this.dropReason !== null || this.totalBytes + this.segmentBytes > this.opts.maxBytes;
  }

  /** Rolls a fully acknowledged live segment: now when short of room, else once appends pause. */
  private considerRoll(): void {
    if (this.closed || !this.liveFullyAcked()) return;
    if (this.underPressure()) {
      this.roll();
      return;
    }
    if (this.rollTimer) return;
    this.rollTimer = setTimeout(() => {
      this.rollTimer = null;
      this.roll();
    }, ROLL_IDLE_MS);
    (this.rollTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Seals the live segment and finishes reading it, so maybeDelete() frees
   * it. Runs between reads and between writes (read chain, then write
   * chain: the order readNext() takes them in too), and checks again there.
   */
  private roll(): void {
    void this.serializeRead(() =>
      this.serializeWrite(async () => {
        if (this.closed || !this.liveFullyAcked()) return true;
        await this.sealLive();
        await this.finishReader();
        return true;
      }),
    );
  }

  // ------------------------------------------------------------ reading

  private serializeRead<T>(task: () => Promise<T>): Promise<T> {
    const result = this.readChain.then(task);
    this.readChain = result.catch(() => {});
    return result;
  }

  private async readNext(): Promise<SpoolEntry | null> {
    for (;;) {
      if (!this.reader && !(await this.openReader())) return null;
      const { segment, cursor } = this.reader!;
      const limit = segment.size;
      let result;
      try {
        result = await cursor.read(limit);
      } catch (err) {
        this.countDamage(segment.size - cursor.position, null);
        this.opts.log(`spool: cannot read ${segment.path}: ${errorMessage(err)}; skipping its last ${segment.size - cursor.position} bytes (counted in spool_corrupt_bytes_total)`);
        await this.finishReader();
        continue;
      }
      if (result.kind === "entry") {
        segment.handedOut++;
        this.lastReadTime = result.time;
        this.outstanding.set(refKey({ segment: segment.id, offset: result.offset }), { segment, time: result.time });
        return { segment: segment.id, offset: result.offset, time: result.time, body: result.body };
      }
      if (result.kind === "end") {
        if (segment.size > limit) continue; // it grew meanwhile
        if (result.offset >= limit) {
          if (!segment.sealed) return null; // the live segment: wait for more
          await this.finishReader();
          continue;
        }
      }
      // Damage: a bad checksum or length, or a partial entry at the end.
      if (!segment.sealed) {
        this.opts.log(`spool: damaged entry at ${segment.path}:${result.offset} in the live segment; starting a new one`);
        await this.serializeWrite(async () => (await this.sealLive(), true));
      }
      await this.skipDamage(result.offset);
    }
  }

  /** Opens the oldest segment not read to the end; false when there is none. */
  private async openReader(): Promise<boolean> {
    for (const segment of this.segments.values()) {
      if (segment.readDone) continue;
      let file: SpoolFile;
      try {
        file = await this.fs.open(segment.path, "r");
      } catch (err) {
        if (TRANSIENT_OPEN_ERRORS.has(errnoOf(err) ?? "")) throw err; // the forwarder retries
        await this.segmentLost(segment, errnoOf(err) === "ENOENT" ? "is gone (deleted by something else?)" : `cannot be opened (${errorMessage(err)}); left in place`);
        continue;
      }
      this.reader = { segment, file, cursor: new SegmentReader(file, segment.firstEntry) };
      if (segment.firstEntry === 0) await this.skipDamage(0); // its magic is damaged
      return true;
    }
    return false;
  }

  private async finishReader(): Promise<void> {
    const { segment, file } = this.reader!;
    this.reader = null;
    segment.readDone = true;
    await file.close().catch(() => {});
    this.maybeDelete(segment);
  }

  /**
   * Damage at `from` in the reader's segment: reading resumes at the next
   * intact entry; the bytes in between are copied to corrupt/ and counted.
   */
  private async skipDamage(from: number): Promise<void> {
    const { segment, cursor, file } = this.reader!;
    const to = await cursor.resync(from + 1, segment.size);
    const name = `${basename(segment.path)}.${from}-${to}`;
    let copied = "";
    let records: number | null = null;
    try {
      records = await this.copyAside(file, from, to, name);
      copied = `copied to ${join(this.opts.dir, CORRUPT_DIR, name)}`;
    } catch (err) {
      copied = `could not be copied aside (${errorMessage(err)})`;
    }
    this.countDamage(to - from, records);
    const what = from === 0 ? "a damaged segment header" : to === segment.size ? "a torn or damaged last entry" : "damaged entries";
    const lost = records === null ? "their record count is unknown" : `${records} record(s) lost (logs_dropped_total{reason="spool_corrupt"})`;
    const next = to === segment.size ? "nothing intact after them in this segment" : `reading on at the next intact entry, ${to}`;
    this.opts.log(`spool: ${what} at ${segment.path}:${from}: ${to - from} bytes skipped, ${copied}; ${lost}; ${next}`);
  }

  private countDamage(bytes: number, records: number | null): void {
    if (bytes > 0) this.opts.metrics.spoolCorruptBytes.inc(bytes);
    if (records) this.opts.metrics.logsDropped.inc({ reason: "spool_corrupt" }, records);
  }

  /** Copies [from, to) of `file` to corrupt/`name`; the records in it when it reads as one entry, else null. */
  private async copyAside(file: SpoolFile, from: number, to: number, name: string): Promise<number | null> {
    await this.fs.mkdir(join(this.opts.dir, CORRUPT_DIR));
    const out = await this.fs.open(join(this.opts.dir, CORRUPT_DIR, name), "w");
    let whole: Uint8Array | null = null;
    try {
      const chunk = new Uint8Array(Math.min(to - from, COUNTABLE_DAMAGE_BYTES));
      for (let at = from; at < to; ) {
        const want = Math.min(chunk.length, to - at);
        const { bytesRead } = await file.read(chunk, 0, want, at);
        if (bytesRead <= 0) throw new Error(`read made no progress at ${at}`);
        await writeFully(out, chunk.subarray(0, bytesRead), at - from);
        if (at === from && bytesRead === to - from) whole = chunk.subarray(0, bytesRead);
        at += bytesRead;
      }
      if (this.opts.fsync !== "never") await out.sync();
    } finally {
      await out.close().catch(() => {});
    }
    return whole && whole.length > 16 ? countRecords(whole.subarray(16), this.opts.recordsField) : null;
  }

  /** A segment file deleted by something else (or unreadable) before it was read: said once, counted, skipped. */
  private async segmentLost(segment: Segment, what: string): Promise<void> {
    if (this.live?.segment === segment) await this.serializeWrite(async () => (await this.sealLive(), true));
    segment.readDone = true;
    segment.deleting = true;
    this.segments.delete(segment.id);
    this.totalBytes -= segment.size;
    this.opts.metrics.spoolSegmentsMissing.inc();
    const records = segment.records;
    if (records) this.opts.metrics.logsDropped.inc({ reason: "spool_missing" }, records);
    const lost = records === null ? "its record count is unknown (a previous run wrote it)" : `${records} record(s) lost (logs_dropped_total{reason="spool_missing"})`;
    this.opts.log(`spool: segment ${segment.path} ${what}: ${segment.size} bytes, ${lost}; going on with the next segment`);
  }

  private hasUnread(): boolean {
    for (const segment of this.segments.values()) {
      if (segment.readDone) continue;
      if (this.reader?.segment === segment) {
        if (this.reader.cursor.position < segment.size) return true;
        continue;
      }
      if (segment.size > segment.firstEntry) return true;
    }
    return false;
  }

  // ------------------------------------------------------------ deleting

  private maybeDelete(segment: Segment): void {
    if (!segment.sealed || !segment.readDone || segment.acked !== segment.handedOut || segment.deleting) return;
    segment.deleting = true;
    const forget = () => {
      this.segments.delete(segment.id);
      this.totalBytes -= segment.size;
    };
    const deletion = this.fs.unlink(segment.path).then(forget, (err) => {
      if (errnoOf(err) === "ENOENT") return forget(); // already gone: nothing unread was in it
      this.opts.log(`spool: cannot delete acknowledged segment ${segment.path}: ${errorMessage(err)}`);
    });
    this.deletions.add(deletion);
    void deletion.finally(() => this.deletions.delete(deletion));
  }
}

// ------------------------------------------------------------ helpers

function refKey(ref: EntryRef): string {
  return `${ref.segment}:${ref.offset}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function writeFully(file: SpoolFile, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw new Error("write made no progress");
    done += bytesWritten;
  }
}

async function ensureWritableDir(fs: SpoolFs, dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await fs.mkdir(dir);
    const file = await fs.open(probe, "w");
    await file.close();
    await fs.unlink(probe);
  } catch (err) {
    throw new SpoolDirError(dir, err);
  }
}

async function syncDir(fs: SpoolFs, dir: string): Promise<void> {
  let handle: SpoolFile | null = null;
  try {
    handle = await fs.open(dir, "r");
    await handle.sync();
  } catch {
    // Not every platform can fsync a directory; the data itself is fsynced.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * Segment files a previous run left, in number order, and the highest
 * number any name like a segment's has (new segments are numbered past it).
 * Anything else named like a segment (a directory, a link, a file that
 * cannot be read) is left alone and said once; a segment too short to hold
 * an entry is removed.
 */
async function findSegments(fs: SpoolFs, dir: string, log: LogFn): Promise<{ found: FoundSegment[]; highestNumber: bigint }> {
  const candidates: Array<{ path: string; fileNumber: bigint }> = [];
  let highestNumber = 0n;
  for (const { name, kind } of await fs.list(dir)) {
    const fileNumber = parseSegmentFileName(name);
    if (fileNumber === null) continue;
    if (fileNumber > highestNumber) highestNumber = fileNumber;
    const path = join(dir, name);
    if (kind !== "file") log(`spool: ignoring ${path}: named like a segment but not a regular file`);
    else candidates.push({ path, fileNumber });
  }
  candidates.sort((a, b) => (a.fileNumber < b.fileNumber ? -1 : a.fileNumber > b.fileNumber ? 1 : 0));
  const found: FoundSegment[] = [];
  for (const { path } of candidates) {
    let size: number;
    let head: Uint8Array;
    try {
      size = await fs.size(path);
      head = await readHead(fs, path);
    } catch (err) {
      log(`spool: ignoring ${path}: cannot read it (${errorMessage(err)})`);
      continue;
    }
    if (size < SEGMENT_HEADER_BYTES || (size === SEGMENT_HEADER_BYTES && isSegmentMagic(head))) {
      log(`spool: removing ${path}: ${size} bytes, no entry in it (a segment begun just before a stop)`);
      await fs.unlink(path).catch(() => {});
      continue;
    }
    found.push({ path, size, magicOk: isSegmentMagic(head) });
  }
  return { found, highestNumber };
}

async function readHead(fs: SpoolFs, path: string): Promise<Uint8Array> {
  const file = await fs.open(path, "r");
  try {
    const buf = new Uint8Array(SEGMENT_HEADER_BYTES);
    const { bytesRead } = await file.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
