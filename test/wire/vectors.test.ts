import { describe, expect, test } from "bun:test";
import { fromBinary } from "@bufbuild/protobuf";
import { ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { FrameDecoder, type DecodedFrame } from "../../src/wire/decoder.ts";
import { encodeLogsFrame, encodeLogsFrameV1, encodeStatusFrame } from "../../src/wire/encoder.ts";
import { frameToVectorJson, loadVectors, vector } from "../helpers/vectors.ts";

function decodeAll(bytes: Uint8Array, chunkSize = bytes.length): { frames: DecodedFrame[]; end: string | null } {
  const decoder = new FrameDecoder();
  const frames: DecodedFrame[] = [];
  for (let i = 0; i < bytes.length; i += Math.max(1, chunkSize)) {
    frames.push(...decoder.push(bytes.subarray(i, i + chunkSize)));
  }
  return { frames, end: decoder.end()?.reason ?? null };
}

describe("shared vectors", () => {
  const vectors = loadVectors();
  test("all present", () => {
    expect(vectors.map((v) => v.name).sort()).toEqual([
      "bad_protobuf", "bad_too_large", "bad_truncated", "bad_unsupported_tag",
      "stream", "v1_max_size", "v1_single", "v2_logs", "v2_status",
    ]);
  });

  for (const v of vectors.filter((v) => v.expected.valid)) {
    test(`${v.name} decodes to exactly its JSON`, () => {
      const { frames, end } = decodeAll(v.bytes);
      expect(end).toBeNull();
      expect(frames.map(frameToVectorJson)).toEqual(v.expected.messages!);
    });
  }

  for (const v of vectors.filter((v) => !v.expected.valid)) {
    test(`${v.name} is refused with ${v.expected.error}`, () => {
      const { frames, end } = decodeAll(v.bytes);
      const reasons = frames.filter((f) => f.kind === "error").map((f) => (f as any).error.reason);
      if (end) reasons.push(end);
      expect(reasons).toEqual([v.expected.error]);
    });
  }

  test("stream.bin byte by byte yields the same messages as whole", () => {
    const v = vector("stream");
    const whole = decodeAll(v.bytes).frames.map(frameToVectorJson);
    const bytewise = decodeAll(v.bytes, 1).frames.map(frameToVectorJson);
    expect(bytewise).toEqual(whole);
    expect(bytewise).toEqual(v.expected.messages!);
  });

  test("every valid vector decodes the same at every chunk size", () => {
    for (const v of vectors.filter((v) => v.expected.valid && v.bytes.length < 2000)) {
      for (let size = 1; size <= v.bytes.length; size++) {
        expect(decodeAll(v.bytes, size).frames.map(frameToVectorJson)).toEqual(v.expected.messages!);
      }
    }
  });
});

describe("encoder", () => {
  test("re-encodes the vectors' messages to identical bytes", () => {
    for (const name of ["v2_logs", "v2_status", "v1_single", "v1_max_size"]) {
      const v = vector(name);
      const [frame] = decodeAll(v.bytes).frames;
      let bytes: Uint8Array;
      if (frame!.kind === "logs") bytes = frame!.tag === 1 ? encodeLogsFrameV1(frame!.request) : encodeLogsFrame(frame!.request);
      else if (frame!.kind === "status") bytes = encodeStatusFrame(frame!.status);
      else throw new Error("unexpected frame");
      expect(Buffer.from(bytes).toString("hex")).toBe(Buffer.from(v.bytes).toString("hex"));
    }
  });
});

describe("decoder rules", () => {
  test("unknown envelope variant and unknown fields are skipped, not errors", () => {
    // envelope field 7 (unknown variant), then a logs envelope with an unknown field 9 inside.
    const unknownVariant = new Uint8Array([0x02, 0, 0, 3, 0x3a, 0x01, 0x41]);
    const withUnknownField = new Uint8Array([0x01, 0, 0, 5, 0x12, 0x01, 0x61, 0x48, 0x07]);
    const { frames, end } = decodeAll(new Uint8Array([...unknownVariant, ...withUnknownField]));
    expect(end).toBeNull();
    expect(frames.map((f) => f.kind)).toEqual(["unknown", "logs"]);
    expect((frames[1] as any).request.sessionId).toBe("a");
  });

  test("a stream that ends right after a header is truncated, and the decoder says it holds the payload buffer", () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(new Uint8Array([0x02, 0, 0x80, 0]))).toEqual([]);
    expect(decoder.pendingBytes).toBe(0); // nothing of the payload yet …
    expect(decoder.midFrame).toBe(true); // … but mid-frame,
    expect(decoder.heldBytes).toBe(32768); // holding its 32 KiB buffer
    expect(decoder.end()?.reason).toBe("truncated");
    expect(decoder.heldBytes).toBe(0);
  });

  test("a malformed payload costs that frame only", () => {
    const bad = vector("bad_protobuf").bytes;
    const good = vector("v2_status").bytes;
    const { frames } = decodeAll(new Uint8Array([...bad, ...good]));
    expect(frames.map((f) => f.kind)).toEqual(["error", "status"]);
  });

  test("a fatal header stops the stream", () => {
    const decoder = new FrameDecoder();
    const out = decoder.push(new Uint8Array([...vector("bad_unsupported_tag").bytes, ...vector("v2_status").bytes]));
    expect(out.map((f) => f.kind)).toEqual(["error"]);
    expect(decoder.push(vector("v2_status").bytes)).toEqual([]);
    expect(decoder.error?.reason).toBe("unsupported_tag");
    expect(decoder.error?.fatal).toBe(true);
  });

  test("half a header then end is truncated", () => {
    const decoder = new FrameDecoder();
    decoder.push(new Uint8Array([2, 0]));
    expect(decoder.end()?.reason).toBe("truncated");
  });
});

describe("the request's encoding as received", () => {
  test("tag 1 and tag 2 frames carry bytes that decode to the same request", () => {
    for (const name of ["v1_single", "v2_logs", "stream"]) {
      for (const frame of decodeAll(vector(name).bytes).frames) {
        if (frame.kind !== "logs") continue;
        expect(frame.encoded).not.toBeNull();
        const again = fromBinary(ReportBoundaryLogsRequestSchema, frame.encoded!);
        expect(again).toEqual(frame.request);
      }
    }
  });

  test("an envelope with its logs field twice is not cut out (protobuf merges them)", () => {
    const v2 = vector("v2_logs").bytes.subarray(4);
    const doubled = new Uint8Array([...v2, ...v2]);
    const header = new Uint8Array([2, 0, (doubled.length >> 8) & 0xff, doubled.length & 0xff]);
    const [frame] = decodeAll(new Uint8Array([...header, ...doubled])).frames;
    expect(frame!.kind).toBe("logs");
    expect((frame as any).encoded).toBeNull();
    expect((frame as any).request.logs).toHaveLength(6);
  });
});
