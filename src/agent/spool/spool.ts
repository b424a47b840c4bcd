// The agent's durable spool: a directory of append-only segment files
// (format.ts) holding every accepted batch until coderd acknowledged it.
//
// Public API (all the integrator needs):
//   const spool = await Spool.open({ dir, maxBytes, segmentBytes, fsync, fsyncIntervalMs, metrics, log })
//     throws SpoolDirError (path + errno message) when the directory cannot be used.
//   await spool.append(body, records) → true once durable per the fsync policy,
//     false when the batch was dropped (over budget: counted as
//     logs_dropped_total{reason="spool_full"} by `records`).
//   await spool.next()  → the oldest entry not yet handed out, or null for now.
//   spool.ack(entry)    → coderd has it; a segment file is deleted once all of
//     its entries are acknowledged (acks may come in any order).
//   spool.onAppend(cb)  → called after each append (the forwarder's wake-up).
//   spool.state()       → bytes, segments, budget, whether the last append was dropped.
//   await spool.close() → flushes and closes; unacknowledged entries stay on disk.
//
// After a crash, open() finds the old segments and next() replays all of
// their entries (duplicates are fine: coderd de-duplicates). New appends
// always go to a fresh segment, so a torn tail of an old one is never
// appended to; next() logs and skips a torn or corrupt entry.
// The budget counts whole segment files (headers and acknowledged entries
// still in a live segment included): the directory never grows past it.
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { AgentMetrics } from "../metrics.ts";
import {
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  encodeEntry,
  entryBytes,
  isSegmentMagic,
  parseSegmentFileName,
  segmentFileName,
} from "./format.ts";
import { SegmentReader } from "./reader.ts";

export type FsyncPolicy = "always" | "interval" | "never";
export type LogFn = (message: string) => void;
export type SpoolMetrics = Pick<AgentMetrics, "spoolBytes" | "spoolSegments" | "spoolOldestAge" | "logsDropped">;

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  fsync: FsyncPolicy;
  /** Group-commit period for fsync "interval", in ms. */
  fsyncIntervalMs: number;
  metrics: SpoolMetrics;
  log: LogFn;
  /** Clock, for tests; ms since the epoch. */
  now?: () => number;
}

/** Where an entry lives; what ack() takes. */
export interface EntryRef {
  segment: number;
  offset: number;
}

export interface SpoolEntry extends EntryRef {
  /** When it was appended (ms since the epoch). */
  time: number;
  /** The encoded ReportBoundaryLogsRequest. */
  body: Uint8Array;
}

export interface SpoolState {
  bytes: number;
  segments: number;
  maxBytes: number;
  /** True when the last append was dropped for lack of room (until one succeeds). */
  full: boolean;
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

interface Segment {
  id: number;
  path: string;
  /** Bytes on disk (for the live segment: bytes whose writes completed). */
  size: number;
  /** No more appends go here. */
  sealed: boolean;
  /** Entries handed out by next(). */
  handedOut: number;
  acked: number;
  /** next() has gone past its last entry. */
  readDone: boolean;
  deleting: boolean;
}

const AGE_REFRESH_MS = 1000;
/** A spool hovering at its budget logs "spool full" at most this often. */
const FULL_LOG_INTERVAL_MS = 60_000;

export class Spool {
  private readonly segments = new Map<number, Segment>(); // insertion order = id order
  private live: { segment: Segment; file: FileHandle } | null = null;
  private reader: { segment: Segment; file: FileHandle; cursor: SegmentReader } | null = null;
  private readonly outstanding = new Map<string, { segment: Segment; time: number }>();
  private totalBytes = 0;
  private nextId: number;
  private full = false;
  private lastFullLog = -Infinity;
  private closed = false;
  private lastReadTime: number | null = null;
  private writeChain: Promise<unknown> = Promise.resolve();
  private readChain: Promise<unknown> = Promise.resolve();
  private syncWaiters: Array<() => void> = [];
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly ageTimer: ReturnType<typeof setInterval>;
  private readonly appendListeners = new Set<() => void>();
  private readonly deletions = new Set<Promise<void>>();
  private readonly now: () => number;

  private constructor(
    private readonly opts: SpoolOptions,
    found: Segment[],
  ) {
    this.now = opts.now ?? Date.now;
    for (const s of found) {
      this.segments.set(s.id, s);
      this.totalBytes += s.size;
    }
    this.nextId = (found.at(-1)?.id ?? 0) + 1;
    this.ageTimer = setInterval(() => this.refreshAge(), AGE_REFRESH_MS);
    (this.ageTimer as { unref?: () => void }).unref?.();
    this.refreshGauges();
  }

  /** Opens (creating) the spool directory and finds what a previous run left. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    await ensureWritableDir(opts.dir);
    const found = await findSegments(opts.dir, opts.log);
    if (found.length > 0) {
      const bytes = found.reduce((n, s) => n + s.size, 0);
      opts.log(`spool: replaying ${found.length} segment(s), ${bytes} bytes, left by a previous run in ${opts.dir}`);
    }
    return new Spool(opts, found);
  }

  state(): SpoolState {
    return { bytes: this.totalBytes, segments: this.segments.size, maxBytes: this.opts.maxBytes, full: this.full };
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
    const result = this.readChain.then(() => this.readNext());
    this.readChain = result.catch(() => {});
    return result;
  }

  /** Marks an entry handed out by next() as delivered. Unknown or repeated refs are ignored. */
  ack(ref: EntryRef): void {
    const key = refKey(ref);
    const entry = this.outstanding.get(key);
    if (!entry) return;
    this.outstanding.delete(key);
    entry.segment.acked++;
    this.maybeDelete(entry.segment);
  }

  /** Time of the oldest entry coderd has not acknowledged, or null when none. */
  oldestUnackedTime(): number | null {
    let oldest: number | null = null;
    for (const { time } of this.outstanding.values()) if (oldest === null || time < oldest) oldest = time;
    if (oldest !== null) return oldest;
    return this.hasUnread() ? (this.lastReadTime ?? this.now()) : null;
  }

  /** Stops appends, fsyncs, closes files; unacknowledged entries stay for the next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ageTimer);
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
    const needsSegment = !this.live || (this.live.segment.size + size > this.opts.segmentBytes && this.live.segment.size > SEGMENT_HEADER_BYTES);
    const needed = size + (needsSegment ? SEGMENT_HEADER_BYTES : 0);
    if (this.totalBytes + needed > this.opts.maxBytes) return this.drop(records, `spool full (${this.totalBytes} of ${this.opts.maxBytes} bytes)`);
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
      this.totalBytes += size;
      if (this.opts.fsync === "always") await live.file.sync();
    } catch (err) {
      return this.drop(records, `spool write failed: ${errorMessage(err)}`);
    }
    this.full = false;
    this.refreshGauges();
    for (const listener of this.appendListeners) listener();
    return true;
  }

  private drop(records: number, why: string): false {
    const now = this.now();
    if (!this.full && now - this.lastFullLog >= FULL_LOG_INTERVAL_MS) {
      this.lastFullLog = now;
      this.opts.log(`${why}; dropping records until there is room (counted in logs_dropped_total{reason="spool_full"})`);
    }
    this.full = true;
    this.opts.metrics.logsDropped.inc({ reason: "spool_full" }, records);
    return false;
  }

  private async startSegment(): Promise<void> {
    await this.sealLive();
    const id = this.nextId++;
    const path = join(this.opts.dir, segmentFileName(id));
    const file = await open(path, "wx");
    try {
      await writeFully(file, SEGMENT_MAGIC, 0);
      if (this.opts.fsync !== "never") await syncDir(this.opts.dir);
    } catch (err) {
      await file.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw err;
    }
    const segment: Segment = { id, path, size: SEGMENT_HEADER_BYTES, sealed: false, handedOut: 0, acked: 0, readDone: false, deleting: false };
    this.segments.set(id, segment);
    this.totalBytes += segment.size;
    this.live = { segment, file };
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

  // ------------------------------------------------------------ reading

  private async readNext(): Promise<SpoolEntry | null> {
    for (;;) {
      if (!this.reader && !(await this.openReader())) return null;
      const { segment, cursor } = this.reader!;
      const limit = segment.size;
      let result;
      try {
        result = await cursor.read(limit);
      } catch (err) {
        this.opts.log(`spool: cannot read ${segment.path}: ${errorMessage(err)}; skipping the rest of it`);
        await this.finishReader();
        continue;
      }
      switch (result.kind) {
        case "entry": {
          segment.handedOut++;
          this.lastReadTime = result.time;
          this.outstanding.set(refKey({ segment: segment.id, offset: result.offset }), { segment, time: result.time });
          return { segment: segment.id, offset: result.offset, time: result.time, body: result.body };
        }
        case "bad_checksum":
          this.opts.log(`spool: entry at ${segment.path}:${result.offset} (${result.length} bytes) fails its checksum; skipped`);
          continue;
        case "bad_length":
        case "end": {
          if (result.kind === "end" && segment.size > limit) continue; // it grew meanwhile
          if (!segment.sealed) {
            if (result.kind === "end") return null; // the live segment: wait for more
            this.opts.log(`spool: corrupt entry at ${segment.path}:${result.offset} in the live segment; starting a new one`);
            await this.serializeWrite(async () => (await this.sealLive(), true));
          }
          if (result.offset < segment.size) {
            const what = result.kind === "end" ? "torn last entry" : `impossible entry length ${result.length}`;
            this.opts.log(`spool: ${what} at ${segment.path}:${result.offset}; skipping the last ${segment.size - result.offset} bytes of the segment`);
          }
          await this.finishReader();
          continue;
        }
      }
    }
  }

  /** Opens the oldest segment not read to the end; false when there is none. */
  private async openReader(): Promise<boolean> {
    for (const segment of this.segments.values()) {
      if (segment.readDone) continue;
      const file = await open(segment.path, "r");
      this.reader = { segment, file, cursor: new SegmentReader(file, SEGMENT_HEADER_BYTES) };
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

  private hasUnread(): boolean {
    for (const segment of this.segments.values()) {
      if (segment.readDone) continue;
      if (this.reader?.segment === segment) {
        if (this.reader.cursor.position < segment.size) return true;
        continue;
      }
      if (segment.size > SEGMENT_HEADER_BYTES) return true;
    }
    return false;
  }

  // ------------------------------------------------------------ deleting

  private maybeDelete(segment: Segment): void {
    if (!segment.sealed || !segment.readDone || segment.acked !== segment.handedOut || segment.deleting) return;
    segment.deleting = true;
    const deletion = unlink(segment.path).then(
      () => {
        this.segments.delete(segment.id);
        this.totalBytes -= segment.size;
        this.refreshGauges();
      },
      (err) => this.opts.log(`spool: cannot delete acknowledged segment ${segment.path}: ${errorMessage(err)}`),
    );
    this.deletions.add(deletion);
    void deletion.finally(() => this.deletions.delete(deletion));
  }

  private refreshGauges(): void {
    this.opts.metrics.spoolBytes.set(this.totalBytes);
    this.opts.metrics.spoolSegments.set(this.segments.size);
    this.refreshAge();
  }

  private refreshAge(): void {
    const oldest = this.oldestUnackedTime();
    this.opts.metrics.spoolOldestAge.set(oldest === null ? 0 : Math.max(0, (this.now() - oldest) / 1000));
  }
}

// ------------------------------------------------------------ helpers

function refKey(ref: EntryRef): string {
  return `${ref.segment}:${ref.offset}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw new Error("write made no progress");
    done += bytesWritten;
  }
}

async function ensureWritableDir(dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = await open(probe, "w");
    await file.close();
    await unlink(probe);
  } catch (err) {
    throw new SpoolDirError(dir, err);
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Not every platform can fsync a directory; the data itself is fsynced.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Segment files a previous run left, oldest first; drops empty and foreign ones. */
async function findSegments(dir: string, log: LogFn): Promise<Segment[]> {
  const found: Segment[] = [];
  const names = (await readdir(dir)).filter((n) => parseSegmentFileName(n) !== null).sort();
  for (const name of names) {
    const path = join(dir, name);
    const size = (await stat(path)).size;
    const magic = await readHead(path);
    if (size <= SEGMENT_HEADER_BYTES && (size < SEGMENT_HEADER_BYTES || isSegmentMagic(magic))) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (!isSegmentMagic(magic)) {
      log(`spool: ${path} is not a spool segment (bad magic); moved aside to ${name}.corrupt`);
      await rename(path, `${path}.corrupt`).catch(() => {});
      continue;
    }
    found.push({ id: parseSegmentFileName(name)!, path, size, sealed: true, handedOut: 0, acked: 0, readDone: false, deleting: false });
  }
  return found;
}

async function readHead(path: string): Promise<Uint8Array> {
  const file = await open(path, "r");
  try {
    const buf = new Uint8Array(SEGMENT_HEADER_BYTES);
    const { bytesRead } = await file.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
