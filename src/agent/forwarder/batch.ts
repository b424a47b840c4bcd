// Coalescing spool entries into requests. Records of one session (and one
// confined process name) are gathered into a Batch of at most maxRecords
// records and about maxBytes encoded bytes; a spool entry may be spread over
// several batches, so each entry is tracked until all its records are acked.
// Byte sizes are estimated per record as the entry's size / its record count.
//
// Records travel as the bytes the spool holds: an entry is scanned for its
// session fields and its encoded records (scanRequest), and a request is put
// together from those bytes (toRequest), so the forwarder never decodes and
// re-encodes a record.
import { create, fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { EntryRef } from "../spool/spool.ts";
import { MAX_RECORDS_PER_BATCH } from "../../rpc/index.ts";
import {
  type BoundaryLog,
  BoundaryLogSchema,
  ReportBoundaryLogsRequestSchema,
  type ReportBoundaryLogsRequest,
} from "../../gen/coder/agent/v2/boundary_pb.ts";

/**
 * One record as it sits in field 1 (`logs`) of an encoded request: the
 * length-prefixed encoding of a BoundaryLog.
 */
export type EncodedLog = Uint8Array;

/** A spool entry's request, scanned rather than decoded. */
export interface ScannedRequest {
  sessionId: string;
  confinedProcessName: string;
  logs: EncodedLog[];
}

const LOGS_FIELD = 1;
const SESSION_ID_FIELD = 2;
const PROCESS_NAME_FIELD = 3;

/** Where a request keeps its records and the string fields they are grouped by (0: none). */
export interface RequestLayout {
  records: number;
  sessionId: number;
  confinedProcessName: number;
}

const BOUNDARY_LAYOUT: RequestLayout = { records: LOGS_FIELD, sessionId: SESSION_ID_FIELD, confinedProcessName: PROCESS_NAME_FIELD };

/** Splits an encoded request (ReportBoundaryLogsRequest by default) into its grouping fields and its records' bytes. */
export function scanRequest(body: Uint8Array, layout: RequestLayout = BOUNDARY_LAYOUT): ScannedRequest {
  const reader = new BinaryReader(body);
  const out: ScannedRequest = { sessionId: "", confinedProcessName: "", logs: [] };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (wireType !== WireType.LengthDelimited) reader.skip(wireType);
    else if (field === layout.records) out.logs.push(reader.skip(wireType));
    else if (field === layout.sessionId) out.sessionId = reader.string();
    else if (field === layout.confinedProcessName) out.confinedProcessName = reader.string();
    else reader.skip(wireType);
  }
  return out;
}

/** The encoded BoundaryLog inside a record's bytes (without its length prefix). */
export function logBytes(encoded: EncodedLog): Uint8Array {
  return new BinaryReader(encoded).bytes();
}

/** Decodes one record (for messages about it; the send path never needs to). */
export function decodeLog(encoded: EncodedLog): BoundaryLog {
  return fromBinary(BoundaryLogSchema, logBytes(encoded));
}

/** A spool entry whose records are (partly) in batches; acked when `remaining` reaches 0. */
export interface TrackedEntry {
  ref: EntryRef;
  remaining: number;
}

export interface Chunk {
  entry: TrackedEntry;
  logs: EncodedLog[];
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
}

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
}

/** The tag byte of field 1 (`logs`), wire type 2 (length-delimited). */
const LOGS_TAG = (LOGS_FIELD << 3) | WireType.LengthDelimited;

/**
 * The request for a batch. Its records ride as ONE unknown field of the
 * message: protobuf-es writes the field's tag, then its bytes verbatim, so
 * those bytes are the first record followed by (tag, record) for each other
 * one, and the encoding on the wire is exactly that of a request whose `logs`
 * hold them. One buffer per batch, no object per record.
 */
export function toRequest(batch: Batch): ReportBoundaryLogsRequest {
  const request = create(ReportBoundaryLogsRequestSchema, {
    sessionId: batch.sessionId,
    confinedProcessName: batch.processName,
  });
  const joined = joinRecords(batch, LOGS_FIELD);
  if (joined) request.$unknown = [{ no: LOGS_FIELD, wireType: WireType.LengthDelimited, data: joined }];
  return request;
}

/**
 * The batch's records as the data of ONE unknown field `field` (wire type 2):
 * the first record, then (tag, record) for each other one; null when empty.
 * Field numbers up to 15 have a one-byte tag.
 */
export function joinRecords(batch: Batch, field: number): Uint8Array | null {
  const tag = (field << 3) | WireType.LengthDelimited;
  let size = -1; // the writer writes the first tag
  for (const chunk of batch.chunks) for (const data of chunk.logs) size += 1 + data.length;
  if (size < 0) return null;
  const joined = new Uint8Array(size);
  let at = 0;
  for (const chunk of batch.chunks) {
    for (const data of chunk.logs) {
      if (at > 0) joined[at++] = tag;
      joined.set(data, at);
      at += data.length;
    }
  }
  return joined;
}

/** A batch of one record of `entry` (a record to set aside, not to send). */
export function singleRecordBatch(entry: TrackedEntry, request: ScannedRequest, log: EncodedLog, now: number): Batch {
  return { sessionId: request.sessionId, processName: request.confinedProcessName, chunks: [{ entry, logs: [log], bytes: log.length }], records: 1, bytes: log.length, openedAt: now };
}

/** A request holding just `log` (for checking one record on its own). */
export function requestOfOne(log: EncodedLog): Uint8Array {
  const bytes = new Uint8Array(1 + log.length);
  bytes[0] = LOGS_TAG;
  bytes.set(log, 1);
  return bytes;
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
  return { sessionId: b.sessionId, processName: b.processName, chunks: [], records: 0, bytes: 0, openedAt: b.openedAt };
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

  private readonly limits: BatchLimits;

  constructor(limits: BatchLimits) {
    // Never more than coderd takes in one request, whatever the configuration says.
    this.limits = { maxRecords: Math.min(limits.maxRecords, MAX_RECORDS_PER_BATCH), maxBytes: limits.maxBytes };
  }

  get bufferedRecords(): number {
    return this.records;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Adds an entry's records; returns the batches that became full. `entry`
   * tracks them (and possibly more of the entry's records that go elsewhere).
   */
  add(ref: EntryRef, request: ScannedRequest, entryBytes: number, now: number, entry: TrackedEntry = { ref, remaining: request.logs.length }): Batch[] {
    const logs = request.logs;
    const full: Batch[] = [];
    if (logs.length === 0) return full;
    const perRecord = Math.max(1, Math.ceil(entryBytes / logs.length));
    const key = `${request.sessionId}\u0000${request.confinedProcessName}`;
    for (let i = 0; i < logs.length; ) {
      let batch = this.open.get(key);
      if (!batch) {
        batch = { sessionId: request.sessionId, processName: request.confinedProcessName, chunks: [], records: 0, bytes: 0, openedAt: now };
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
