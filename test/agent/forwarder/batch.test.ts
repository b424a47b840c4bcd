// Coalescing and splitting of batches, and the backoff's bounds.
import { describe, expect, test } from "bun:test";
import { Coalescer, splitBatch, toRequest } from "../../../src/agent/forwarder/batch.ts";
import { Backoff } from "../../../src/agent/forwarder/backoff.ts";
import { makeRequest } from "../spool/helpers.ts";

describe("Coalescer", () => {
  test("fills one batch per session up to maxRecords, spreading an entry over batches", () => {
    const c = new Coalescer({ maxRecords: 4, maxBytes: 1 << 20 });
    expect(c.add({ segment: 1, offset: 8 }, makeRequest("a", 0, 3), 300, 0)).toEqual([]);
    expect(c.add({ segment: 1, offset: 308 }, makeRequest("b", 0, 2), 200, 0)).toEqual([]);
    const full = c.add({ segment: 1, offset: 508 }, makeRequest("a", 3, 6), 600, 1);
    expect(full.map((b) => toRequest(b).logs.map((l) => l.sequenceNumber))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
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
    expect(toRequest(p).logs.map((l) => l.sequenceNumber)).toEqual([4, 5]);
    expect(toRequest(q).logs.map((l) => l.sequenceNumber)).toEqual([6, 7, 8]);
  });
});

describe("Backoff", () => {
  test("full jitter under an exponential ceiling with a cap", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([b.fail(), b.fail(), b.fail(), b.fail(), b.fail(), b.fail()]).toEqual([99, 199, 399, 799, 999, 999]);
    b.reset();
    expect(b.fail()).toBe(99);
    expect(new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 }).fail()).toBe(0);
  });
});
