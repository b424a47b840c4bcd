// The durable spool on real files in temp dirs: replay across reopen and
// crash, torn and corrupt entries, deletion only after full ack, the disk
// budget, fsync policies, an unusable directory, and a large backlog.
import { afterEach, describe, expect, test } from "bun:test";
import { fromBinary } from "@bufbuild/protobuf";
import { appendFileSync, readFileSync, truncateSync, writeFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as zlib from "node:zlib";
import { crc32, crc32Table } from "../../../src/agent/spool/crc32.ts";
import { Spool, SpoolDirError, type SpoolEntry } from "../../../src/agent/spool/spool.ts";
import { ReportBoundaryLogsRequestSchema } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";
import {
  counterValue,
  dirBytes,
  encodeRequest,
  logCollector,
  makeRequest,
  newMetrics,
  openSpool,
  segmentFiles,
  tempDir,
  waitFor,
} from "./helpers.ts";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const d = tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

async function drain(spool: Spool): Promise<SpoolEntry[]> {
  const out: SpoolEntry[] = [];
  for (let e = await spool.next(); e; e = await spool.next()) out.push(e);
  return out;
}

function body(i: number): Uint8Array {
  return encodeRequest(makeRequest("s1", i, 1));
}

describe("crc32", () => {
  test("matches the standard check value and the native implementation", () => {
    expect(crc32Table(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    for (let n = 0; n < 50; n++) {
      const data = randomBytes(n * 37);
      expect(crc32Table(data)).toBe(crc32(data));
      const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
      if (native) expect(crc32Table(data)).toBe(native(data) >>> 0);
    }
  });
});

describe("spool", () => {
  test("entries appended before a reopen are replayed in order, unchanged", async () => {
    const d = dir();
    const a = await openSpool(d, { segmentBytes: 2048 });
    for (let i = 0; i < 100; i++) expect(await a.append(body(i), 1)).toBe(true);
    await a.close();
    expect(segmentFiles(d).length).toBeGreaterThan(3);

    const b = await openSpool(d, { segmentBytes: 2048 });
    const entries = await drain(b);
    expect(entries.map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    await b.close();
  });

  test("next() sees appends to the live segment as they come", async () => {
    const s = await openSpool(dir());
    expect(await s.next()).toBeNull();
    await s.append(body(0), 1);
    expect((await s.next())?.body).toEqual(body(0));
    expect(await s.next()).toBeNull();
    await s.append(body(1), 1);
    expect((await s.next())?.body).toEqual(body(1));
    await s.close();
  });

  test("a segment is deleted only after all its entries are acked, in any order", async () => {
    const d = dir();
    const metrics = newMetrics();
    const s = await openSpool(d, { segmentBytes: 1024, metrics });
    for (let i = 0; i < 60; i++) await s.append(body(i), 1);
    const entries = await drain(s);
    expect(entries.length).toBe(60);
    const bySegment = new Map<number, SpoolEntry[]>();
    for (const e of entries) bySegment.set(e.segment, [...(bySegment.get(e.segment) ?? []), e]);
    const sealed = [...bySegment.keys()].slice(0, -1); // the last one is still live
    expect(sealed.length).toBeGreaterThan(2);

    // Ack everything but the first entry of each segment, newest first: nothing may go.
    for (const seg of [...sealed].reverse()) for (const e of bySegment.get(seg)!.slice(1).reverse()) s.ack(e);
    await Bun.sleep(20);
    expect(segmentFiles(d).length).toBe(bySegment.size);
    s.ack(bySegment.get(sealed[0]!)![1]!); // a repeated ack changes nothing
    await Bun.sleep(20);
    expect(segmentFiles(d).length).toBe(bySegment.size);

    // Now the first entries, out of order: each completes exactly its segment.
    for (const seg of [sealed[1]!, sealed[0]!, ...sealed.slice(2)]) {
      s.ack(bySegment.get(seg)![0]!);
      await waitFor(() => !segmentFiles(d).some((f) => f.includes(String(seg).padStart(12, "0"))), `segment ${seg} deleted`);
    }
    expect(segmentFiles(d).length).toBe(1);
    await waitFor(() => s.state().segments === 1, "spool state follows");
    expect(await counterValue(metrics.spoolSegments)).toBe(1);
    expect(await counterValue(metrics.spoolBytes)).toBe(dirBytes(d));

    // The live segment goes once it is sealed, read to the end and fully acked.
    for (const e of bySegment.get([...bySegment.keys()].at(-1)!)!) s.ack(e);
    await s.close();
    await waitFor(() => segmentFiles(d).length === 0, "live segment deleted at close");
  });

  test("unacked entries of a closed spool come back on reopen, acked segments do not", async () => {
    const d = dir();
    const a = await openSpool(d, { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) await a.append(body(i), 1);
    const first = await drain(a);
    const firstSegment = first[0]!.segment;
    for (const e of first.filter((e) => e.segment === firstSegment)) a.ack(e);
    await waitFor(() => segmentFiles(d).length > 0 && !segmentFiles(d)[0]!.includes(String(firstSegment).padStart(12, "0")), "first segment deleted");
    await a.close();
    const b = await openSpool(d, { segmentBytes: 1024 });
    const replayed = await drain(b);
    expect(replayed.length).toBe(first.filter((e) => e.segment !== firstSegment).length);
    await b.close();
  });

  test("a torn last entry is logged and skipped; the rest replays", async () => {
    const d = dir();
    const a = await openSpool(d);
    for (let i = 0; i < 10; i++) await a.append(body(i), 1);
    await a.close();
    const [file] = segmentFiles(d);
    const path = join(d, file!);
    truncateSync(path, statSync(path).size - 5);

    const { log, lines } = logCollector();
    const b = await openSpool(d, { log });
    const entries = await drain(b);
    expect(entries.length).toBe(9);
    expect(lines.some((l) => l.includes("torn last entry"))).toBe(true);
    await b.close();
  });

  test("a half-written header at the end is skipped too", async () => {
    const d = dir();
    const a = await openSpool(d);
    for (let i = 0; i < 3; i++) await a.append(body(i), 1);
    await a.close();
    appendFileSync(join(d, segmentFiles(d)[0]!), new Uint8Array([0, 0, 1]));
    const b = await openSpool(d);
    expect((await drain(b)).length).toBe(3);
    await b.close();
  });

  test("a flipped byte fails the checksum: that entry is skipped, never fatal", async () => {
    const d = dir();
    const a = await openSpool(d);
    for (let i = 0; i < 10; i++) await a.append(body(i), 1);
    await a.close();
    const path = join(d, segmentFiles(d)[0]!);
    const bytes = readFileSync(path);
    const offsets: number[] = [];
    for (let at = 8; at < bytes.length; at += 16 + bytes.readUInt32BE(at)) offsets.push(at);
    expect(offsets.length).toBe(10);
    bytes[offsets[4]! + 20]! ^= 0xff; // inside the 5th entry's body
    bytes[bytes.length - 1]! ^= 0x01; // the last entry's last byte
    writeFileSync(path, bytes);

    const { log, lines } = logCollector();
    const b = await openSpool(d, { log });
    const seqs = (await drain(b)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
    expect(seqs).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
    expect(lines.filter((l) => l.includes("fails its checksum")).length).toBe(2);
    await b.close();
  });

  test("an impossible length skips the rest of that segment only", async () => {
    const d = dir();
    const a = await openSpool(d, { segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) await a.append(body(i), 1);
    await a.close();
    const files = segmentFiles(d);
    const path = join(d, files[0]!);
    const bytes = readFileSync(path);
    bytes.set([0xff, 0xff, 0xff, 0xff], 8); // the first entry's length
    writeFileSync(path, bytes);
    const { log, lines } = logCollector();
    const b = await openSpool(d, { segmentBytes: 1024, log });
    const entries = await drain(b);
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.segment !== 1)).toBe(true);
    expect(lines.some((l) => l.includes("impossible entry length"))).toBe(true);
    await b.close();
  });

  test("after SIGKILL, every acknowledged append is replayed", async () => {
    const d = dir();
    const child = spawnSync(process.execPath, [join(import.meta.dir, "crash-writer.ts"), d, "200"], { encoding: "utf8", timeout: 60_000 });
    expect(child.stdout).toContain("appended 200");
    expect(child.signal).toBe("SIGKILL");
    const s = await openSpool(d);
    const seqs = (await drain(s)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await s.close();
  });

  test("the budget is never exceeded and every dropped record is counted as spool_full", async () => {
    const d = dir();
    const metrics = newMetrics();
    const { log, lines } = logCollector();
    const maxBytes = 5000;
    const s = await openSpool(d, { maxBytes, segmentBytes: 1500, metrics, log });
    let dropped = 0;
    let accepted = 0;
    for (let i = 0; i < 80; i++) {
      const records = (i % 3) + 1;
      const ok = await s.append(encodeRequest(makeRequest("s", i * 3, records)), records);
      if (ok) accepted++;
      else dropped += records;
      expect(dirBytes(d)).toBeLessThanOrEqual(maxBytes);
      expect(s.state().bytes).toBe(dirBytes(d));
    }
    expect(accepted).toBeGreaterThan(5);
    expect(dropped).toBeGreaterThan(0);
    expect(s.state().full).toBe(true);
    expect(await counterValue(metrics.logsDropped, { reason: "spool_full" })).toBe(dropped);
    expect(lines.filter((l) => l.includes("spool full")).length).toBe(1);

    // Acknowledging frees room again.
    for (const e of await drain(s)) s.ack(e);
    await waitFor(() => s.state().bytes < maxBytes / 2 && dirBytes(d) === s.state().bytes, "acked segments deleted");
    expect(await s.append(body(1), 1)).toBe(true);
    expect(s.state().full).toBe(false);
    await s.close();
  });

  test("an unusable spool directory is a typed error naming the path and the cause", async () => {
    const d = dir();
    const file = join(d, "not-a-dir");
    writeFileSync(file, "x");
    const target = join(file, "spool");
    const err = await openSpool(target).catch((e) => e);
    expect(err).toBeInstanceOf(SpoolDirError);
    expect(err.path).toBe(target);
    expect(err.message).toContain(target);
    expect(err.message).toMatch(/ENOTDIR|not a directory/i);
  });

  for (const fsync of ["always", "interval", "never"] as const) {
    test(`fsync ${fsync}: concurrent appends all resolve and replay`, async () => {
      const d = dir();
      const a = await openSpool(d, { fsync, fsyncIntervalMs: 5, segmentBytes: 4096 });
      const results = await Promise.all(Array.from({ length: 120 }, (_, i) => a.append(body(i), 1)));
      expect(results.every(Boolean)).toBe(true);
      await a.close();
      const b = await openSpool(d);
      const seqs = (await drain(b)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
      expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i));
      await b.close();
    });
  }

  test("spool gauges follow the files", async () => {
    const d = dir();
    const metrics = newMetrics();
    const s = await openSpool(d, { metrics, segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) await s.append(body(i), 1);
    expect(await counterValue(metrics.spoolBytes)).toBe(dirBytes(d));
    expect(await counterValue(metrics.spoolSegments)).toBe(segmentFiles(d).length);
    const e = await s.next();
    expect(s.oldestUnackedTime()).toBe(e!.time);
    await s.close();
  });

  test("a 100k-entry backlog replays with bounded memory", async () => {
    const d = dir();
    const a = await openSpool(d, { segmentBytes: 4 * 1024 * 1024, maxBytes: 1 << 30 });
    const payload = encodeRequest(makeRequest("backlog-session-0000-0000-000000000000", 0, 2));
    for (let i = 0; i < 100_000; i++) await a.append(payload, 2);
    await a.close();
    const backlog = dirBytes(d);
    expect(backlog).toBeGreaterThan(100_000 * payload.length);

    Bun.gc(true);
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const b = await openSpool(d, { segmentBytes: 4 * 1024 * 1024, maxBytes: 1 << 30 });
    let n = 0;
    for (let e = await b.next(); e; e = await b.next()) {
      b.ack(e);
      if (++n % 20_000 === 0) {
        Bun.gc(true);
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    expect(n).toBe(100_000);
    // The backlog is tens of MB; a reader that held it would grow by as much.
    expect(peak - before).toBeLessThan(backlog / 2);
    await b.close();
    await waitFor(() => segmentFiles(d).length === 0, "all segments deleted");
    expect(existsSync(d)).toBe(true);
  }, 120_000);
});
