// Coalescing spool entries into requests. Records of one session (and one
// confined process name) are gathered into a Batch of at most maxRecords
// records and about maxBytes encoded bytes; a spool entry may be spread over
// several batches, so each entry is tracked until all its records are acked.
// Byte sizes are estimated per record as the entry's size / its record count.
import { create } from "@bufbuild/protobuf";
import type { EntryRef } from "../spool/spool.ts";
import {
  ReportBoundaryLogsRequestSchema,
  type BoundaryLog,
  type ReportBoundaryLogsRequest,
} from "../../gen/coder/agent/v2/boundary_pb.ts";

/** A spool entry whose records are (partly) in batches; acked when `remaining` reaches 0. */
export interface TrackedEntry {
  ref: EntryRef;
  remaining: number;
}

export interface Chunk {
  entry: TrackedEntry;
  logs: BoundaryLog[];
  bytes: number;
}

export interface Batch {
  sessionId: string;
  processName: string;
  chunks: Chunk[];
  records: number;
  bytes: number;
  /** When its first record arrived (ms). */
  openedAt: number;
  /** Earliest time it may be sent again (ms); set after a per-batch failure. */
  notBefore: number;
  /** Consecutive per-batch failures (invalid_argument). */
  failures: number;
}

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
}

export function toRequest(batch: Batch): ReportBoundaryLogsRequest {
  return create(ReportBoundaryLogsRequestSchema, {
    sessionId: batch.sessionId,
    confinedProcessName: batch.processName,
    logs: batch.chunks.flatMap((c) => c.logs),
  });
}

/** Splits a batch of two or more records into two halves by record count. */
export function splitBatch(batch: Batch): [Batch, Batch] {
  const firstRecords = Math.floor(batch.records / 2);
  const first = emptyLike(batch);
  const second = emptyLike(batch);
  for (const chunk of batch.chunks) {
    const room = firstRecords - first.records;
    if (room >= chunk.logs.length) addChunk(first, chunk);
    else if (room <= 0) addChunk(second, chunk);
    else {
      const perRecord = chunk.bytes / chunk.logs.length;
      addChunk(first, { entry: chunk.entry, logs: chunk.logs.slice(0, room), bytes: perRecord * room });
      addChunk(second, { entry: chunk.entry, logs: chunk.logs.slice(room), bytes: chunk.bytes - perRecord * room });
    }
  }
  return [first, second];
}

function emptyLike(b: Batch): Batch {
  return { sessionId: b.sessionId, processName: b.processName, chunks: [], records: 0, bytes: 0, openedAt: b.openedAt, notBefore: 0, failures: 0 };
}

function addChunk(batch: Batch, chunk: Chunk): void {
  batch.chunks.push(chunk);
  batch.records += chunk.logs.length;
  batch.bytes += chunk.bytes;
}

/** Open (still filling) batches, one per session. */
export class Coalescer {
  private readonly open = new Map<string, Batch>();
  private records = 0;
  private bytes = 0;

  constructor(private readonly limits: BatchLimits) {}

  get bufferedRecords(): number {
    return this.records;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.open.size;
  }

  /** Adds an entry's records; returns the batches that became full. */
  add(ref: EntryRef, request: ReportBoundaryLogsRequest, entryBytes: number, now: number): Batch[] {
    const logs = request.logs;
    const full: Batch[] = [];
    if (logs.length === 0) return full;
    const entry: TrackedEntry = { ref, remaining: logs.length };
    const perRecord = Math.max(1, Math.ceil(entryBytes / logs.length));
    const key = `${request.sessionId}\u0000${request.confinedProcessName}`;
    for (let i = 0; i < logs.length; ) {
      let batch = this.open.get(key);
      if (!batch) {
        batch = { sessionId: request.sessionId, processName: request.confinedProcessName, chunks: [], records: 0, bytes: 0, openedAt: now, notBefore: 0, failures: 0 };
        this.open.set(key, batch);
      }
      const byBytes = Math.floor((this.limits.maxBytes - batch.bytes) / perRecord);
      const room = Math.min(this.limits.maxRecords - batch.records, byBytes);
      if (room <= 0 && batch.records > 0) {
        full.push(this.take(key));
        continue;
      }
      const take = Math.min(Math.max(room, 1), logs.length - i);
      addChunk(batch, { entry, logs: logs.slice(i, i + take), bytes: take * perRecord });
      this.records += take;
      this.bytes += take * perRecord;
      i += take;
      if (batch.records >= this.limits.maxRecords || batch.bytes + perRecord > this.limits.maxBytes) full.push(this.take(key));
    }
    return full;
  }

  /** Removes and returns the batches opened at or before `cutoff` (all when cutoff is Infinity). */
  takeOpenedBy(cutoff: number): Batch[] {
    const out: Batch[] = [];
    for (const [key, batch] of this.open) if (batch.openedAt <= cutoff) out.push(this.take(key));
    return out;
  }

  /** When the oldest open batch was opened, or null. */
  oldestOpenedAt(): number | null {
    let oldest: number | null = null;
    for (const b of this.open.values()) if (oldest === null || b.openedAt < oldest) oldest = b.openedAt;
    return oldest;
  }

  private take(key: string): Batch {
    const batch = this.open.get(key)!;
    this.open.delete(key);
    this.records -= batch.records;
    this.bytes -= batch.bytes;
    return batch;
  }
}
