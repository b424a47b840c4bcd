// Sequential reader of one segment file. It reads through a small buffer
// (64 KiB, or one entry when an entry is larger), so memory stays bounded
// whatever the segment's size, and it never caches bytes past the limit it
// is given (the part of the file whose writes have completed). After damage,
// resync() finds where the next intact entry starts.
import {
  ENTRY_HEADER_BYTES,
  MAX_ENTRY_BODY_BYTES,
  decodeEntryHeader,
  entryChecksumMatches,
  isEntryAt,
  isPlausibleTime,
} from "./format.ts";
import type { SpoolFile } from "./fs.ts";

const CHUNK_BYTES = 64 * 1024;

export type ReadResult =
  /** One whole, intact entry; the reader has moved past it. */
  | { kind: "entry"; offset: number; time: number; body: Uint8Array }
  /** Fewer bytes than one whole entry remain before the limit. */
  | { kind: "end"; offset: number }
  /** The entry's checksum does not match; the reader has moved past it. */
  | { kind: "bad_checksum"; offset: number; length: number }
  /** The header's length is impossible; nothing after it can be trusted. */
  | { kind: "bad_length"; offset: number; length: number };

export class SegmentReader {
  private buf = new Uint8Array(CHUNK_BYTES);
  private bufStart = 0;
  private bufLength = 0;

  constructor(
    readonly file: SpoolFile,
    /** File position of the next entry. */
    public position: number,
  ) {}

  /** Reads the entry at `position`, using no byte at or beyond `limit`. */
  async read(limit: number): Promise<ReadResult> {
    const offset = this.position;
    if (limit - offset < ENTRY_HEADER_BYTES) return { kind: "end", offset };
    const header = decodeEntryHeader(await this.bytesAt(offset, ENTRY_HEADER_BYTES, limit));
    if (header.bodyLength > MAX_ENTRY_BODY_BYTES) return { kind: "bad_length", offset, length: header.bodyLength };
    const total = ENTRY_HEADER_BYTES + header.bodyLength;
    if (limit - offset < total) return { kind: "end", offset };
    const entry = await this.bytesAt(offset, total, limit);
    this.position = offset + total;
    if (!entryChecksumMatches(entry)) return { kind: "bad_checksum", offset, length: total };
    return { kind: "entry", offset, time: header.time, body: entry.slice(ENTRY_HEADER_BYTES) };
  }

  /**
   * The first offset in [from, limit) where a whole intact entry starts
   * (plausible length and time, matching checksum), or `limit` when none
   * does. Moves the reader there.
   */
  async resync(from: number, limit: number): Promise<number> {
    for (let at = from; limit - at >= ENTRY_HEADER_BYTES; at++) {
      const header = await this.bytesAt(at, ENTRY_HEADER_BYTES, limit);
      const { bodyLength: length, time } = decodeEntryHeader(header);
      if (length > MAX_ENTRY_BODY_BYTES || limit - at < ENTRY_HEADER_BYTES + length || !isPlausibleTime(time)) continue;
      if (isEntryAt(await this.bytesAt(at, ENTRY_HEADER_BYTES + length, limit))) return (this.position = at);
    }
    return (this.position = limit);
  }

  /** A view of `length` bytes at `position`, valid until the next call. */
  private async bytesAt(position: number, length: number, limit: number): Promise<Uint8Array> {
    const start = position - this.bufStart;
    if (start >= 0 && start + length <= this.bufLength) return this.buf.subarray(start, start + length);
    const want = Math.min(Math.max(CHUNK_BYTES, length), limit - position);
    if (this.buf.length < want) this.buf = new Uint8Array(want);
    else if (this.buf.length > CHUNK_BYTES && want <= CHUNK_BYTES) this.buf = new Uint8Array(CHUNK_BYTES);
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await this.file.read(this.buf, filled, want - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.bufStart = position;
    this.bufLength = filled;
    if (filled < length) throw new Error(`segment is shorter than expected: wanted ${length} bytes at ${position}, got ${filled}`);
    return this.buf.subarray(0, length);
  }
}
