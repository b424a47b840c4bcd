// Sequential reader of one segment file. It reads through a small buffer
// (64 KiB, or one entry when an entry is larger), so memory stays bounded
// whatever the segment's size, and it never caches bytes past the limit it
// is given (the part of the file whose writes have completed).
import type { FileHandle } from "node:fs/promises";
import {
  ENTRY_HEADER_BYTES,
  MAX_ENTRY_BODY_BYTES,
  decodeEntryHeader,
  entryChecksumMatches,
} from "./format.ts";

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
    private readonly file: FileHandle,
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
