// Frame layout of boundary's Unix socket (shared/WIRE.md §1): a 4-byte
// big-endian header (tag in bits 31..24, payload length in bits 23..0)
// followed by a protobuf payload. Shared by the decoder and the encoder.

/** Tag 1: payload is a bare coder.agent.v2.ReportBoundaryLogsRequest. */
export const TAG_V1 = 1;
/** Tag 2: payload is a coder.boundarylogproxy.codec.v1.BoundaryMessage. */
export const TAG_V2 = 2;
export const HEADER_BYTES = 4;
/** Largest payload boundary may send for tags 1 and 2 (1 << 15). */
export const MAX_PAYLOAD_BYTES = 1 << 15;
/** The 24-bit length field's own limit. */
export const MAX_LENGTH_FIELD = (1 << 24) - 1;

/** Why a frame was refused. The names are the ones shared/vectors use. */
export const FRAME_ERROR_REASONS = [
  "unsupported_tag",
  "message_too_large",
  "truncated",
  "malformed_protobuf",
  /** Well-formed, but holds a value coderd would refuse (src/record/validity.ts): bad UTF-8, a time out of range, a field over its cap. */
  "invalid_record",
] as const;

export type FrameErrorReason = (typeof FRAME_ERROR_REASONS)[number];

/** Reasons that cost one frame; the others cost the connection (the stream cannot be resynchronised). */
const FRAME_ONLY_REASONS: ReadonlySet<FrameErrorReason> = new Set(["malformed_protobuf", "invalid_record"]);

/**
 * A refused frame. `fatal` errors mean the stream cannot be resynchronised
 * and the connection must be closed; the others cost one frame only.
 */
export class FrameError extends Error {
  readonly reason: FrameErrorReason;
  readonly fatal: boolean;
  constructor(reason: FrameErrorReason, detail: string) {
    super(`${reason}: ${detail}`);
    this.name = "FrameError";
    this.reason = reason;
    this.fatal = !FRAME_ONLY_REASONS.has(reason);
  }
}

export function readHeader(bytes: Uint8Array, offset: number): { tag: number; length: number } {
  const word =
    ((bytes[offset]! << 24) >>> 0) + (bytes[offset + 1]! << 16) + (bytes[offset + 2]! << 8) + bytes[offset + 3]!;
  return { tag: word >>> 24, length: word & MAX_LENGTH_FIELD };
}

export function writeHeader(target: Uint8Array, offset: number, tag: number, length: number): void {
  target[offset] = tag & 0xff;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}

/** Checks a header; returns the error that refuses it, or null. */
export function checkHeader(tag: number, length: number): FrameError | null {
  if (tag !== TAG_V1 && tag !== TAG_V2) {
    return new FrameError("unsupported_tag", `tag ${tag} is not 1 or 2`);
  }
  if (length > MAX_PAYLOAD_BYTES) {
    return new FrameError("message_too_large", `payload of ${length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  return null;
}
