// An output that takes bytes gets the request's bytes as boundary sent them
// and no decoded copy, so queued records cost their encoded size in memory.
import { expect, test } from "bun:test";
import { fromBinary } from "@bufbuild/protobuf";
import { ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { decodedRequest, type QueuedBatch, type RecordOutput } from "../../src/agent/output.ts";
import { formatBatchLines } from "../../src/agent/outputs/stdout.ts";
import { sendBytes, startTestAgent } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { vector } from "../helpers/vectors.ts";

class BytesOutput implements RecordOutput {
  readonly takes = "encoded";
  batches: QueuedBatch[] = [];
  async write(b: QueuedBatch): Promise<void> {
    this.batches.push(b);
  }
  notReadyReason(): string | null {
    return null;
  }
  async close(): Promise<void> {}
}

test("a bytes-taking output gets encoded batches without the decoded request", async () => {
  const output = new BytesOutput();
  const agent = await startTestAgent([], { output });
  try {
    await sendBytes(agent.socket.path, vector("v2_logs").bytes);
    await until(() => output.batches.length === 1, { what: "the batch" });
    const [batch] = output.batches;
    expect(batch!.request).toBeNull();
    expect(batch!.records).toBe(3);
    const request = fromBinary(ReportBoundaryLogsRequestSchema, batch!.encoded!);
    expect(request.logs.map((l) => l.sequenceNumber)).toEqual([0, 1, 2]);
    // What reads records decodes the bytes on demand: the same lines either way.
    expect(decodedRequest(batch!)).toEqual(request);
    const asDecoded = formatBatchLines({ ...batch!, request, encoded: null }, new Date(0));
    expect(formatBatchLines(batch!, new Date(0))).toBe(asDecoded);
  } finally {
    await agent.close();
  }
});
