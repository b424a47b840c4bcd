// Encoder for the client side of boundary's socket: frames a request or a
// status the way the real boundary client does (shared/WIRE.md §1).
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type ReportBoundaryLogsRequest,
  ReportBoundaryLogsRequestSchema,
} from "../gen/coder/agent/v2/boundary_pb.ts";
import { BoundaryMessageSchema, type BoundaryStatus } from "../gen/coder/boundarylogproxy/codec/v1/codec_pb.ts";
import { HEADER_BYTES, MAX_PAYLOAD_BYTES, TAG_V1, TAG_V2, writeHeader } from "./frame.ts";

export class FrameTooLargeError extends Error {
  constructor(readonly payloadBytes: number) {
    super(`message_too_large: encoded payload of ${payloadBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
    this.name = "FrameTooLargeError";
  }
}

export function frame(tag: number, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new FrameTooLargeError(payload.length);
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  writeHeader(out, 0, tag, payload.length);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** A tag-2 frame carrying a batch of records (what current boundary writes). */
export function encodeLogsFrame(request: ReportBoundaryLogsRequest): Uint8Array {
  const envelope = create(BoundaryMessageSchema, { msg: { case: "logs", value: request } });
  return frame(TAG_V2, toBinary(BoundaryMessageSchema, envelope));
}

/** A tag-1 frame: the bare request older boundary versions write. */
export function encodeLogsFrameV1(request: ReportBoundaryLogsRequest): Uint8Array {
  return frame(TAG_V1, toBinary(ReportBoundaryLogsRequestSchema, request));
}

/** A tag-2 frame carrying boundary's drop counters. */
export function encodeStatusFrame(status: BoundaryStatus): Uint8Array {
  const envelope = create(BoundaryMessageSchema, { msg: { case: "status", value: status } });
  return frame(TAG_V2, toBinary(BoundaryMessageSchema, envelope));
}
