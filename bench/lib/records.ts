// Realistic records for benchmarks: a mix of allowed package-registry
// fetches and denied uploads, with URLs of typical length.
import { create } from "@bufbuild/protobuf";
import {
  BoundaryLogSchema,
  type ReportBoundaryLogsRequest,
  ReportBoundaryLogsRequestSchema,
} from "../../src/gen/coder/agent/v2/boundary_pb.ts";

export function sampleRequest(sessionId: string, firstSeq: number, count: number): ReportBoundaryLogsRequest {
  const logs = Array.from({ length: count }, (_, i) => {
    const seq = firstSeq + i;
    const allowed = seq % 4 !== 3;
    return create(BoundaryLogSchema, {
      allowed,
      time: { seconds: 1765227526n + BigInt(seq), nanos: (seq * 7919) % 1_000_000_000 },
      sequenceNumber: seq,
      resource: {
        case: "httpRequest",
        value: allowed
          ? { method: "GET", url: `https://registry.npmjs.org/pkg-${seq % 500}/-/pkg-${seq % 500}-1.${seq % 20}.0.tgz`, matchedRule: "domain=registry.npmjs.org" }
          : { method: "POST", url: `https://paste${seq % 50}.example.net/api/upload?id=${seq}`, matchedRule: "" },
      },
    });
  });
  return create(ReportBoundaryLogsRequestSchema, { sessionId, confinedProcessName: "claude", logs });
}

/** One buffer holding `parts` back to back (a stream of frames). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
