// Coalescing and splitting of batches, and the retry timing's bounds.
import { describe, expect, test } from "bun:test";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Batch, Coalescer, decodeLog, scanRequest, splitBatch, toRequest } from "../../../src/agent/forwarder/batch.ts";
import { ReportBoundaryLogsRequestSchema, type ReportBoundaryLogsRequest } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";
import { RetryTiming } from "../../../src/agent/forwarder/backoff.ts";
import { MAX_RECORDS_PER_BATCH } from "../../../src/rpc/index.ts";
import { makeRequest as makeTypedRequest } from "../spool/helpers.ts";

/** What the forwarder reads from the spool: the request scanned from its bytes. */
const makeRequest = (session: string, from: number, count: number) =>
  scanRequest(toBinary(ReportBoundaryLogsRequestSchema, makeTypedRequest(session, from, count)));

/** The batch's request as coderd decodes it off the wire. */
const onTheWire = (b: Batch): ReportBoundaryLogsRequest =>
  fromBinary(ReportBoundaryLogsRequestSchema, toBinary(ReportBoundaryLogsRequestSchema, toRequest(b)));

describe("Coalescer", () => {
  test("fills one batch per session up to maxRecords, spreading an entry over batches", () => {
    const c = new Coalescer({ maxRecords: 4, maxBytes: 1 << 20 });
    expect(c.add({ segment: 1, offset: 8 }, makeRequest("a", 0, 3), 300, 0)).toEqual([]);
    expect(c.add({ segment: 1, offset: 308 }, makeRequest("b", 0, 2), 200, 0)).toEqual([]);
    const full = c.add({ segment: 1, offset: 508 }, makeRequest("a", 3, 6), 600, 1);
    expect(full.map((b) => onTheWire(b).logs.map((l) => l.sequenceNumber))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(full[1]!.chunks[0]!.entry.remaining).toBe(6);
    expect(c.bufferedRecords).toBe(3); // a:8 and b:0,1
    const rest = c.takeOpenedBy(Infinity);
    expect(rest.map((b) => [b.sessionId, b.records])).toEqual([["b", 2], ["a", 1]]);
    expect(c.size).toBe(0);
  });

  test("respects maxBytes by the per-record estimate", () => {
    const c = new Coalescer({ maxRecords: 1000, maxBytes: 1000 });
    const full = c.add({ segment: 1, offset: 8 }, makeRequest("a", 0, 10), 2000, 0);
    expect(full.every((b) => b.bytes <= 1000)).toBe(true);
    expect(full.reduce((n, b) => n + b.records, 0) + c.bufferedRecords).toBe(10);
  });

  test("splitBatch halves by records and keeps every record once", () => {
    const c = new Coalescer({ maxRecords: 9, maxBytes: 1 << 20 });
    c.add({ segment: 1, offset: 8 }, makeRequest("a", 0, 4), 400, 0);
    const [batch] = c.add({ segment: 1, offset: 408 }, makeRequest("a", 4, 5), 500, 0);
    const [x, y] = splitBatch(batch!);
    expect(x.records).toBe(4);
    expect(y.records).toBe(5);
    const [p, q] = splitBatch(y);
    expect(onTheWire(p).logs.map((l) => l.sequenceNumber)).toEqual([4, 5]);
    expect(onTheWire(q).logs.map((l) => l.sequenceNumber)).toEqual([6, 7, 8]);
  });
});

describe("records as spooled bytes", () => {
  test("a batch built from scanned entries is, on the wire, the request of those records", () => {
    const typed = [makeTypedRequest("s", 0, 3), makeTypedRequest("s", 3, 2)];
    const c = new Coalescer({ maxRecords: 5, maxBytes: 1 << 20 });
    c.add({ segment: 1, offset: 8 }, scanRequest(toBinary(ReportBoundaryLogsRequestSchema, typed[0]!)), 300, 0);
    const [batch] = c.add({ segment: 1, offset: 308 }, scanRequest(toBinary(ReportBoundaryLogsRequestSchema, typed[1]!)), 200, 0);
    const wire = onTheWire(batch!);
    expect(wire.sessionId).toBe("s");
    expect(wire.confinedProcessName).toBe(typed[0]!.confinedProcessName);
    expect(wire.logs).toEqual([...typed[0]!.logs, ...typed[1]!.logs]);
    expect(decodeLog(batch!.chunks[1]!.logs[0]!)).toEqual(typed[1]!.logs[0]!);
  });
});

describe("RetryTiming", () => {
  test("full jitter under an exponential ceiling with a cap", () => {
    const t = new RetryTiming({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6, 100].map((n) => t.delay(n))).toEqual([99, 199, 399, 799, 999, 999, 999]);
    expect(new RetryTiming({ initialMs: 100, maxMs: 1000, random: () => 0 }).delay(3)).toBe(0);
    expect(t.maxMs).toBe(1000);
  });
});

describe("Coalescer and coderd's request cap", () => {
  test("never builds a request over MAX_RECORDS_PER_BATCH, whatever maxRecords says", () => {
    const c = new Coalescer({ maxRecords: 5000, maxBytes: 1 << 30 });
    const full = c.add({ segment: 1, offset: 8 }, makeRequest("a", 0, 2500), 250_000, 0);
    expect(full.map((b) => b.records)).toEqual([MAX_RECORDS_PER_BATCH, MAX_RECORDS_PER_BATCH]);
    expect(c.bufferedRecords).toBe(500);
  });
});
