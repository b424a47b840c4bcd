// On-disk format of the spool. A segment file is an 8-byte magic followed
// by entries; an entry is a 16-byte header and a body:
//
//   u32 BE  body length
//   u32 BE  CRC-32 of (append time + body)
//   f64 BE  append time, ms since the epoch
//   body    one encoded coder.agent.v2.ReportBoundaryLogsRequest
//
// Segment files are named seg-<12-digit id>.spool; ids grow, so name order
// is append order.
import { crc32 } from "./crc32.ts";

export const SEGMENT_MAGIC = new TextEncoder().encode("BRSPOOL1");
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length;
export const ENTRY_HEADER_BYTES = 16;
/** Refuse lengths beyond this as corruption (a frame payload is at most 32 KiB). */
export const MAX_ENTRY_BODY_BYTES = 64 * 1024 * 1024;

const NAME_RE = /^seg-(\d{12})\.spool$/;

export function segmentFileName(id: number): string {
  return `seg-${String(id).padStart(12, "0")}.spool`;
}

/** The segment id of a file name, or null for a file that is not a segment. */
export function parseSegmentFileName(name: string): number | null {
  const m = NAME_RE.exec(name);
  return m ? Number(m[1]) : null;
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

export function isSegmentMagic(bytes: Uint8Array): boolean {
  if (bytes.length < SEGMENT_HEADER_BYTES) return false;
  for (let i = 0; i < SEGMENT_HEADER_BYTES; i++) if (bytes[i] !== SEGMENT_MAGIC[i]) return false;
  return true;
}
