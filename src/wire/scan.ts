// Top-level walks over protobuf bytes that allocate nothing: how many
// records a request holds, and where a v2 envelope's logs field lies. For
// the decoder's byte-only path (an output that takes bytes needs the count
// and the bytes, not decoded objects). Never throws; a walk that runs past
// the end gives up (-1 / null) and the caller takes the decoding path.

/** The walker's registers, reused so a walk allocates nothing. */
const at = { pos: 0, value: 0 };

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Reads a varint at at.pos into at.value (exact below 2^53); false when it overruns `end` or exceeds 10 bytes. */
function varint(buf: Uint8Array, end: number): boolean {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= end) return false;
    const b = buf[at.pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      at.value = value;
      return true;
    }
    scale *= 128;
  }
  return false;
}

/** Skips a field's value of `wireType` at at.pos; false when it overruns `end` or the wire type has no length (groups). */
function skip(buf: Uint8Array, wireType: number, end: number): boolean {
  switch (wireType) {
    case WIRE_VARINT:
      return varint(buf, end);
    case WIRE_FIXED64:
      at.pos += 8;
      return at.pos <= end;
    case WIRE_LEN:
      if (!varint(buf, end)) return false;
      at.pos += at.value;
      return at.pos <= end;
    case WIRE_FIXED32:
      at.pos += 4;
      return at.pos <= end;
    default:
      return false;
  }
}

const LOGS_FIELD = 1; // ReportBoundaryLogsRequest.logs and BoundaryMessage.logs
const ENVELOPE_STATUS_FIELD = 2;

/** Records in an encoded ReportBoundaryLogsRequest (its field-1 occurrences); -1 when the bytes do not walk. */
export function countLogs(request: Uint8Array): number {
  at.pos = 0;
  let records = 0;
  while (at.pos < request.length) {
    if (!varint(request, request.length)) return -1;
    const wireType = at.value % 8;
    if ((at.value - wireType) / 8 === LOGS_FIELD && wireType === WIRE_LEN) records++;
    if (!skip(request, wireType, request.length)) return -1;
  }
  return records;
}

/**
 * Where the logs request lies in a BoundaryMessage envelope (`start`..`end`),
 * when logs is its only oneof member: exactly one logs field, no status
 * field. null otherwise (a status frame, a merged or odd envelope, bytes
 * that do not walk): the caller decodes the envelope instead.
 */
export function soleEnvelopeLogs(envelope: Uint8Array): { start: number; end: number } | null {
  at.pos = 0;
  let start = -1;
  let end = -1;
  while (at.pos < envelope.length) {
    if (!varint(envelope, envelope.length)) return null;
    const wireType = at.value % 8;
    const field = (at.value - wireType) / 8;
    if (field === 0 || field === ENVELOPE_STATUS_FIELD) return null;
    if (field === LOGS_FIELD) {
      if (wireType !== WIRE_LEN || start >= 0 || !varint(envelope, envelope.length)) return null;
      start = at.pos;
      end = at.pos + at.value;
      if (end > envelope.length) return null;
      at.pos = end;
    } else if (!skip(envelope, wireType, envelope.length)) {
      return null;
    }
  }
  return start >= 0 ? { start, end } : null;
}
