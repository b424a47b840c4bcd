// Load generator for coderd's ingest RPC, run as its own process: C
// concurrent clients POST pre-encoded 1000-record batches (Connect unary,
// application/proto: the bytes createIngestClient sends; encoding them before
// the clock starts measures coderd, not the client). Every batch has its own
// session UUID so nothing is a duplicate.
//
//   bun bench/rpc-load.ts --url U[,U2…] --token T [--clients 4] [--batches 200] [--batch-records 1000]
// With several URLs (coderd replicas) client i sends to URL i mod n.
// Prints "ready N", starts on a line on stdin, prints {"sent":N,"elapsedMs":T}.
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { toBinary } from "@bufbuild/protobuf";
import { ReportBoundaryLogsRequestSchema } from "../src/gen/coder/agent/v2/boundary_pb.ts";
import { sampleRequest } from "./lib/records.ts";

const arg = (name: string, fallback: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1]! : fallback);
const RECORDS_PER_BATCH = Number(arg("batch-records", "1000"));
const urls = arg("url", "").split(",").map((u) => `${u}/boundaryrelay.v1.IngestService/ReportBoundaryLogs`);
const token = arg("token", "");
const clients = Number(arg("clients", "4"));
const batches = Number(arg("batches", "200"));

const bodies = Array.from({ length: batches }, () => toBinary(ReportBoundaryLogsRequestSchema, sampleRequest(randomUUID(), 0, RECORDS_PER_BATCH)));
const headers = { "content-type": "application/proto", "connect-protocol-version": "1", authorization: `Bearer ${token}` };

async function client(_: unknown, i: number): Promise<void> {
  const url = urls[i % urls.length]!;
  for (let body = bodies.pop(); body; body = bodies.pop()) {
    const res = await fetch(url, { method: "POST", headers, body });
    if (res.status !== 200) throw new Error(`coderd answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
}

process.stdout.write(`ready ${batches * RECORDS_PER_BATCH}\n`);
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once("line", resolve));
lines.close();
const start = performance.now();
await Promise.all(Array.from({ length: clients }, client));
process.stdout.write(`${JSON.stringify({ sent: batches * RECORDS_PER_BATCH, elapsedMs: performance.now() - start })}\n`);
process.exit(0);
