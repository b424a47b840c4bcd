// Streaming decoder for boundary's socket: takes whatever chunks a read
// delivers (a frame split over many reads, many frames in one read) and
// yields typed messages. Memory held per connection never exceeds one
// frame (header + 32 KiB payload). Never throws on input bytes. Every logs
// request is checked with the shared validity rules before it is passed on.
// A decoder made with { decodeLogs: false } passes a valid request on as its
// bytes and record count ("encoded_logs") without building objects, for an
// output that stores bytes.
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  type ReportBoundaryLogsRequest,
  ReportBoundaryLogsRequestSchema,
} from "../gen/coder/agent/v2/boundary_pb.ts";
import { type BoundaryStatus, BoundaryMessageSchema } from "../gen/coder/boundarylogproxy/codec/v1/codec_pb.ts";
import { checkEncodedRequest, describeInvalid, type InvalidField } from "../record/validity.ts";
import { checkHeader, FrameError, HEADER_BYTES, readHeader, TAG_V1, TAG_V2 } from "./frame.ts";
import { countLogs, soleEnvelopeLogs } from "./scan.ts";

export type DecodedFrame =
  | {
      kind: "logs";
      tag: 1 | 2;
      request: ReportBoundaryLogsRequest;
      /** The request's encoding as boundary sent it (a copy), so it need not be encoded again; null when it cannot be cut out as is. */
      encoded: Uint8Array | null;
      bytes: number;
    }
  /** Only from a decoder made with { decodeLogs: false }: a valid request as its bytes (a copy). */
  | { kind: "encoded_logs"; tag: 1 | 2; records: number; encoded: Uint8Array; bytes: number }
  | { kind: "status"; tag: 2; status: BoundaryStatus; bytes: number }
  /** A v2 envelope variant this schema does not know: skipped, not an error. */
  | { kind: "unknown"; tag: 2; bytes: number }
  | { kind: "error"; error: FrameError };

const PARSE_OPTIONS = { readUnknownFields: false } as const;

/**
 * Decodes one payload. A payload coderd would refuse (the shared rules of
 * src/record/validity.ts, checked on the request's bytes before decoding)
 * becomes a non-fatal error: malformed_protobuf when its bytes are not a
 * well-formed message (e.g. a nested length past its parent), invalid_record
 * when a value breaks a rule (bad UTF-8, a time out of range, a field over
 * its cap).
 */
export function decodePayload(tag: number, payload: Uint8Array, decodeLogs = true): DecodedFrame {
  const bytes = payload.length + HEADER_BYTES;
  try {
    if (tag === TAG_V1) {
      const invalid = checkEncodedRequest(payload);
      if (invalid !== null) return refused(tag, payload.length, invalid);
      if (!decodeLogs) return { kind: "encoded_logs", tag: 1, records: countLogs(payload), encoded: payload.slice(), bytes };
      const request = fromBinary(ReportBoundaryLogsRequestSchema, payload, PARSE_OPTIONS);
      return { kind: "logs", tag: 1, request, encoded: payload.slice(), bytes };
    }
    if (!decodeLogs) {
      const logs = soleEnvelopeLogs(payload);
      if (logs !== null) return encodedEnvelopeLogs(payload.subarray(logs.start, logs.end), payload.length, bytes);
    }
    // Every logs field is checked before the envelope is decoded, so a refusal has the same reason on both paths.
    const logs = scanEnvelopeLogs(payload);
    if (logs.invalid !== null) return refused(tag, payload.length, logs.invalid);
    const envelope = fromBinary(BoundaryMessageSchema, payload, PARSE_OPTIONS);
    switch (envelope.msg.case) {
      case "logs":
        return { kind: "logs", tag: 2, request: envelope.msg.value, encoded: logs.sole, bytes };
      case "status":
        return { kind: "status", tag: 2, status: envelope.msg.value, bytes };
      default:
        return { kind: "unknown", tag: 2, bytes };
    }
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { kind: "error", error: new FrameError("malformed_protobuf", `tag ${tag} payload of ${payload.length} bytes: ${detail}`) };
  }
}

/** A tag-2 frame whose envelope holds only `logs`, passed on as bytes once the request is valid. */
function encodedEnvelopeLogs(logs: Uint8Array, payloadLength: number, bytes: number): DecodedFrame {
  const invalid = checkEncodedRequest(logs);
  if (invalid !== null) return refused(TAG_V2, payloadLength, { ...invalid, field: invalid.field === "" ? "logs" : `logs.${invalid.field}` });
  return { kind: "encoded_logs", tag: 2, records: countLogs(logs), encoded: logs.slice(), bytes };
}

function refused(tag: number, length: number, invalid: InvalidField): DecodedFrame {
  const reason = invalid.kind === "malformed_protobuf" ? "malformed_protobuf" : "invalid_record";
  return { kind: "error", error: new FrameError(reason, `tag ${tag} payload of ${length} bytes: ${describeInvalid(invalid)}`) };
}

const ENVELOPE_LOGS_FIELD = 1;
const ENVELOPE_STATUS_FIELD = 2;

/**
 * Checks every `logs` field of an envelope with the shared validity rules, and cuts out (copies) the logs bytes when the
 * field is the envelope's only oneof member (the usual case; else `sole`
 * is null and the request gets encoded again downstream).
 */
function scanEnvelopeLogs(envelope: Uint8Array): { invalid: InvalidField | null; sole: Uint8Array | null } {
  const reader = new BinaryReader(envelope);
  let logs: Uint8Array | null = null;
  let logsFields = 0;
  let status = false;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === ENVELOPE_LOGS_FIELD) {
      if (wireType !== WireType.LengthDelimited) {
        return { invalid: { kind: "malformed_protobuf", field: "logs", problem: `wire type ${wireType}, not length-delimited` }, sole: null };
      }
      logs = reader.bytes();
      logsFields++;
      const invalid = checkEncodedRequest(logs);
      if (invalid !== null) return { invalid: { ...invalid, field: invalid.field === "" ? "logs" : `logs.${invalid.field}` }, sole: null };
    } else {
      if (field === ENVELOPE_STATUS_FIELD) status = true;
      reader.skip(wireType);
    }
  }
  return { invalid: null, sole: logsFields === 1 && !status ? logs!.slice() : null };
}

export interface FrameDecoderOptions {
  /** false: pass valid logs requests on as bytes ("encoded_logs") without decoding them. Default true. */
  decodeLogs?: boolean;
}

export class FrameDecoder {
  private readonly decodeLogs: boolean;
  private readonly header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private payload: Uint8Array | null = null;
  private payloadFill = 0;
  private tag = 0;
  private failed: FrameError | null = null;

  constructor(opts: FrameDecoderOptions = {}) {
    this.decodeLogs = opts.decodeLogs ?? true;
  }

  /** The fatal error that stopped this stream, if any. */
  get error(): FrameError | null {
    return this.failed;
  }

  /** Bytes of an incomplete frame received so far. */
  get pendingBytes(): number {
    return this.headerFill + this.payloadFill;
  }

  /** Whether the stream stopped inside a frame (a header began, or a payload is awaited). */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.payload !== null;
  }

  /** Memory held for the incomplete frame: the header so far and the payload buffer (allocated whole on the header). */
  get heldBytes(): number {
    return this.headerFill + (this.payload?.length ?? 0);
  }

  /**
   * Feeds one chunk; returns the frames it completed, in order. After a
   * fatal error (returned as the last element) the decoder ignores input.
   */
  push(chunk: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    let offset = 0;
    while (offset < chunk.length && this.failed === null) {
      offset = this.payload === null ? this.takeHeader(chunk, offset, out) : this.takePayload(chunk, offset, out);
    }
    return out;
  }

  /**
   * Ends the stream. Returns a `truncated` error when it stopped inside a
   * frame, else null.
   */
  end(): FrameError | null {
    if (this.failed !== null || !this.midFrame) return null;
    const err = new FrameError(
      "truncated",
      this.payload === null
        ? `stream ended after ${this.headerFill} of ${HEADER_BYTES} header bytes`
        : `stream ended after ${this.payloadFill} of ${this.payload.length} payload bytes`,
    );
    this.reset();
    return err;
  }

  /** Drops a partial frame without reporting it (the connection is being closed for another reason). */
  discard(): void {
    this.reset();
  }

  private takeHeader(chunk: Uint8Array, offset: number, out: DecodedFrame[]): number {
    let start: number;
    let source: Uint8Array;
    if (this.headerFill === 0 && chunk.length - offset >= HEADER_BYTES) {
      source = chunk;
      start = offset;
      offset += HEADER_BYTES;
    } else {
      const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
      this.header.set(chunk.subarray(offset, offset + n), this.headerFill);
      this.headerFill += n;
      offset += n;
      if (this.headerFill < HEADER_BYTES) return offset;
      source = this.header;
      start = 0;
    }
    this.headerFill = 0;
    const { tag, length } = readHeader(source, start);
    const refused = checkHeader(tag, length);
    if (refused !== null) {
      this.failed = refused;
      out.push({ kind: "error", error: refused });
      return chunk.length;
    }
    if (chunk.length - offset >= length) {
      // Whole payload in this chunk: decode in place, no copy.
      out.push(decodePayload(tag, chunk.subarray(offset, offset + length), this.decodeLogs));
      return offset + length;
    }
    this.tag = tag;
    this.payload = new Uint8Array(length);
    this.payloadFill = 0;
    return this.takePayload(chunk, offset, out);
  }

  private takePayload(chunk: Uint8Array, offset: number, out: DecodedFrame[]): number {
    const payload = this.payload!;
    const n = Math.min(payload.length - this.payloadFill, chunk.length - offset);
    payload.set(chunk.subarray(offset, offset + n), this.payloadFill);
    this.payloadFill += n;
    if (this.payloadFill === payload.length) {
      out.push(decodePayload(this.tag, payload, this.decodeLogs));
      this.reset();
    }
    return offset + n;
  }

  private reset(): void {
    this.payload = null;
    this.payloadFill = 0;
    this.headerFill = 0;
  }
}
