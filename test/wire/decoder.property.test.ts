// Property: whatever bytes arrive, in whatever chunks, the decoder never
// throws, always finishes, and never holds more than one frame.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { FrameDecoder } from "../../src/wire/decoder.ts";
import { HEADER_BYTES, MAX_PAYLOAD_BYTES } from "../../src/wire/frame.ts";
import { loadVectors } from "../helpers/vectors.ts";

const LIMIT = HEADER_BYTES + MAX_PAYLOAD_BYTES;

/** Splits `bytes` at the given cut points. */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

function feed(chunks: Uint8Array[]): { frames: number; fatal: boolean } {
  const decoder = new FrameDecoder();
  let frames = 0;
  for (const c of chunks) {
    frames += decoder.push(c).length;
    expect(decoder.pendingBytes).toBeLessThanOrEqual(LIMIT);
  }
  decoder.end();
  expect(decoder.pendingBytes).toBe(0);
  return { frames, fatal: decoder.error !== null };
}

// Frame-shaped input: plausible headers (tags 0..3, lengths around the limit) followed by random payloads.
const frameish = fc
  .array(
    fc.record({
      tag: fc.integer({ min: 0, max: 3 }),
      length: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: MAX_PAYLOAD_BYTES - 2, max: MAX_PAYLOAD_BYTES + 2 })),
      body: fc.uint8Array({ maxLength: 96 }),
    }),
    { maxLength: 6 },
  )
  .map((parts) => {
    const bytes: number[] = [];
    for (const p of parts) {
      bytes.push(p.tag, (p.length >>> 16) & 0xff, (p.length >>> 8) & 0xff, p.length & 0xff, ...p.body);
    }
    return new Uint8Array(bytes);
  });

const vectorBytes = fc.constantFrom(...loadVectors().map((v) => v.bytes));

const input = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  frameish,
  vectorBytes,
  // Vectors glued together, with random bytes flipped.
  fc.tuple(vectorBytes, vectorBytes, fc.array(fc.nat(), { maxLength: 4 }), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([a, b, at, vals]) => {
    const bytes = new Uint8Array([...a, ...b]);
    at.forEach((i, k) => (bytes[i % bytes.length] = vals[k]!));
    return bytes;
  }),
);

test("random bytes in random chunks never throw, never hang, never hold more than one frame", () => {
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
      feed(chunk(bytes, cuts));
    }),
    { numRuns: 3000 },
  );
}, 30_000); // 3,000 runs take 1–3 s alone; a shared 2-core machine can stretch that past the 5 s default

test("chunking never changes what a byte stream decodes to", () => {
  const describe = (chunks: Uint8Array[]) => {
    const decoder = new FrameDecoder();
    const kinds: string[] = [];
    for (const c of chunks) for (const f of decoder.push(c)) kinds.push(f.kind === "error" ? `error:${f.error.reason}` : f.kind);
    kinds.push(`end:${decoder.end()?.reason ?? "clean"}`);
    return kinds;
  };
  fc.assert(
    fc.property(fc.oneof(frameish, vectorBytes), fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
      expect(describe(chunk(bytes, cuts))).toEqual(describe([bytes]));
    }),
    { numRuns: 2000 },
  );
});

test("a decoder that passes requests on as bytes agrees with the decoding one on every stream", () => {
  const hex = (b: Uint8Array | null) => (b === null ? "null" : Buffer.from(b).toString("hex"));
  const describe = (bytes: Uint8Array, decodeLogs: boolean) => {
    const decoder = new FrameDecoder({ decodeLogs });
    return decoder.push(bytes).map((f) => {
      switch (f.kind) {
        case "logs":
          return f.encoded === null ? `logs:${f.request.logs.length}:re-encoded` : `logs:${f.request.logs.length}:${hex(f.encoded)}`;
        case "encoded_logs":
          return `logs:${f.records}:${hex(f.encoded)}`;
        case "error":
          return `error:${f.error.reason}`;
        default:
          return f.kind;
      }
    });
  };
  fc.assert(
    fc.property(input, (bytes) => {
      const decoded = describe(bytes, true);
      const asBytes = describe(bytes, false);
      // Where the decoding path could not cut the request out, the byte path decodes too.
      expect(asBytes.map((d, i) => (decoded[i]?.endsWith(":re-encoded") ? decoded[i] : d))).toEqual(decoded);
    }),
    { numRuns: 3000 },
  );
}, 30_000);
