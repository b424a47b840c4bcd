// On-disk format of the spool. A segment file is an 8-byte magic followed
// by entries; an entry is a 16-byte header and a body:
//
//   u32 BE  body length
//   u32 BE  CRC-32 of (append time + body)
//   f64 BE  append time, ms since the epoch
//   body    one encoded coder.agent.v2.ReportBoundaryLogsRequest
//
// Segment files are named seg-<number>.spool, the number zero-padded to at
// least 12 digits; numbers grow, so number order is append order (numbers
// of any length are read: they are compared as numbers, not as names).
import { crc32 } from "./crc32.ts";

export const SEGMENT_MAGIC = new TextEncoder().encode("BRSPOOL1");
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length;
export const ENTRY_HEADER_BYTES = 16;
/** Refuse lengths beyond this as corruption (a frame payload is at most 32 KiB). */
export const MAX_ENTRY_BODY_BYTES = 64 * 1024 * 1024;

const NAME_RE = /^seg-(\d+)\.spool$/;

export function segmentFileName(id: number | bigint): string {
  return `seg-${String(id).padStart(12, "0")}.spool`;
}

/** The segment number of a file name, or null for a name that is not a segment's. */
export function parseSegmentFileName(name: string): bigint | null {
  const m = NAME_RE.exec(name);
  return m ? BigInt(m[1]!) : null;
}

export function entryBytes(bodyLength: number): number {
  return ENTRY_HEADER_BYTES + bodyLength;
}

/** Header and body of one entry, ready to write. */
export function encodeEntry(body: Uint8Array, time: number): Uint8Array {
  const out = new Uint8Array(ENTRY_HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  view.setFloat64(8, time);
  out.set(body, ENTRY_HEADER_BYTES);
  view.setUint32(4, crc32(out.subarray(8)));
  return out;
}

export type EntryHeader = { bodyLength: number; crc: number; time: number };

export function decodeEntryHeader(bytes: Uint8Array): EntryHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, ENTRY_HEADER_BYTES);
  return { bodyLength: view.getUint32(0), crc: view.getUint32(4), time: view.getFloat64(8) };
}

/** True when `entry` (header and body) carries the checksum its header claims. */
export function entryChecksumMatches(entry: Uint8Array): boolean {
  const { crc } = decodeEntryHeader(entry);
  return crc32(entry.subarray(8)) === crc;
}

/** Entry times outside 2000–2200 are not believed while looking for the next entry after damage. */
const PLAUSIBLE_TIME_MS = { min: 946_684_800_000, max: 7_258_118_400_000 };

export function isPlausibleTime(time: number): boolean {
  return time >= PLAUSIBLE_TIME_MS.min && time <= PLAUSIBLE_TIME_MS.max;
}

/**
 * True when `bytes` (the header of a possible entry and, if it fits, its
 * body) hold a whole entry of a plausible length and time whose checksum
 * matches: the test for "an entry starts here" after damage.
 */
export function isEntryAt(bytes: Uint8Array): boolean {
  if (bytes.length < ENTRY_HEADER_BYTES) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, ENTRY_HEADER_BYTES);
  const length = view.getUint32(0);
  if (length > MAX_ENTRY_BODY_BYTES || ENTRY_HEADER_BYTES + length > bytes.length) return false;
  if (!isPlausibleTime(view.getFloat64(8))) return false;
  return entryChecksumMatches(bytes.subarray(0, ENTRY_HEADER_BYTES + length));
}

/**
 * The records (field `recordsField`: 1, `logs`, by default) in an encoded
 * ReportBoundaryLogsRequest (or ReportProcessLogsRequest, field 2),
 * found by walking its top-level fields without decoding them; null when
 * the bytes do not walk as protobuf to their exact end. Used to count the
 * records of a damaged entry where that is still possible.
 */
export function countRecords(body: Uint8Array, recordsField = 1): number | null {
  let at = 0;
  let records = 0;
  const varint = (): number | null => {
    let value = 0;
    for (let shift = 0; shift < 64 && at < body.length; shift += 7) {
      const b = body[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return null;
  };
  while (at < body.length) {
    const tag = varint();
    if (tag === null || tag < 8) return null;
    switch (tag % 8) {
      case 0:
        if (varint() === null) return null;
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = varint();
        if (length === null) return null;
        at += length;
        if (Math.floor(tag / 8) === recordsField) records++;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        return null;
    }
  }
  return at === body.length ? records : null;
}

export function isSegmentMagic(bytes: Uint8Array): boolean {
  if (bytes.length < SEGMENT_HEADER_BYTES) return false;
  for (let i = 0; i < SEGMENT_HEADER_BYTES; i++) if (bytes[i] !== SEGMENT_MAGIC[i]) return false;
  return true;
}
