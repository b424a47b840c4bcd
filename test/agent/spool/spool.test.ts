// The durable spool on real files in temp dirs: replay across reopen and
// crash, torn and corrupt entries, deletion only after full ack, the disk
// budget, fsync policies, an unusable directory, and a large backlog.
import { afterEach, describe, expect, test } from "bun:test";
import { fromBinary } from "@bufbuild/protobuf";
import { appendFileSync, mkdirSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as zlib from "node:zlib";
import { crc32, crc32Table } from "../../../src/agent/spool/crc32.ts";
import { countRecords } from "../../../src/agent/spool/format.ts";
import { errnoOf, nodeFs, type SpoolFs } from "../../../src/agent/spool/fs.ts";
import { Spool, SpoolDirError, type SpoolEntry } from "../../../src/agent/spool/spool.ts";
import { ReportBoundaryLogsRequestSchema } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";
import {
  dirBytes, encodeRequest, logCollector, makeRequest, newMetrics, openSpool, segmentFiles, smallDisk, spoolOptions,
} from "./helpers.ts";
import { until, settled } from "../../helpers/until.ts";
import { tempDir } from "../../helpers/temp.ts";
import { counterValue } from "../../helpers/metrics.ts";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const d = tempDir("spool-");
  cleanups.push(d.cleanup);
  return d.dir;
}

async function drain(spool: Spool): Promise<SpoolEntry[]> {
  const out: SpoolEntry[] = [];
  for (let e = await spool.next(); e; e = await spool.next()) out.push(e);
  return out;
}

function body(i: number): Uint8Array {
  return encodeRequest(makeRequest("s1", i, 1));
}

/** A closed spool in `d` of `count` one-record entries in 1 KiB segments; its segment file names. */
async function closedSpool(d: string, count: number): Promise<string[]> {
  const a = await openSpool(d, { segmentBytes: 1024 });
  for (let i = 0; i < count; i++) await a.append(body(i), 1);
  await a.close();
  return segmentFiles(d);
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
    // settled() waits for any deletion those acks began, so a wrong one would show.
    for (const seg of [...sealed].reverse()) for (const e of bySegment.get(seg)!.slice(1).reverse()) s.ack(e);
    await s.settled();
    expect(segmentFiles(d).length).toBe(bySegment.size);
    s.ack(bySegment.get(sealed[0]!)![1]!); // a repeated ack changes nothing
    await s.settled();
    expect(segmentFiles(d).length).toBe(bySegment.size);

    // Now the first entries, out of order: each completes exactly its segment.
    for (const seg of [sealed[1]!, sealed[0]!, ...sealed.slice(2)]) {
      s.ack(bySegment.get(seg)![0]!);
      await until(() => !segmentFiles(d).some((f) => f.includes(String(seg).padStart(12, "0"))), { what: `segment ${seg} deleted` });
    }
    expect(segmentFiles(d).length).toBe(1);
    await until(() => s.state().segments === 1, { what: "spool state follows" });
    expect(await counterValue(metrics.spoolSegments)).toBe(1);
    expect(await counterValue(metrics.spoolBytes)).toBe(dirBytes(d));

    // The live segment goes once it is sealed, read to the end and fully acked.
    for (const e of bySegment.get([...bySegment.keys()].at(-1)!)!) s.ack(e);
    await s.close();
    await until(() => segmentFiles(d).length === 0, { what: "live segment deleted at close" });
  });

  test("unacked entries of a closed spool come back on reopen, acked segments do not", async () => {
    const d = dir();
    const a = await openSpool(d, { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) await a.append(body(i), 1);
    const first = await drain(a);
    const firstSegment = first[0]!.segment;
    for (const e of first.filter((e) => e.segment === firstSegment)) a.ack(e);
    await until(() => segmentFiles(d).length > 0 && !segmentFiles(d)[0]!.includes(String(firstSegment).padStart(12, "0")), { what: "first segment deleted" });
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
    const metrics = newMetrics();
    const b = await openSpool(d, { log, metrics });
    const entries = await drain(b);
    expect(entries.length).toBe(9);
    expect(lines.some((l) => l.includes("torn or damaged last entry"))).toBe(true);
    expect(await counterValue(metrics.spoolCorruptBytes)).toBe(statSync(path).size - 8 - entries.reduce((n, e) => n + 16 + e.body.length, 0));
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
    const metrics = newMetrics();
    const b = await openSpool(d, { log, metrics });
    const seqs = (await drain(b)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
    expect(seqs).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
    expect(lines.filter((l) => l.includes("bytes skipped")).length).toBe(2);
    const damaged = offsets[5]! - offsets[4]! + (bytes.length - offsets[9]!);
    expect(await counterValue(metrics.spoolCorruptBytes)).toBe(damaged);
    expect(await counterValue(metrics.logsDropped, { reason: "spool_corrupt" })).toBeLessThanOrEqual(2);
    expect(dirBytes(join(d, "corrupt"), () => true)).toBe(damaged);
    await b.close();
  });

  for (const [what, length] of [["an impossible length", [0xff, 0xff, 0xff, 0xff]], ["a length one bit too long", [0, 0, 0, 0]]] as const) {
    test(`${what} loses only that entry: reading resumes at the next intact one`, async () => {
      const d = dir();
      const path = join(d, (await closedSpool(d, 30))[0]!);
      const bytes = readFileSync(path);
      const firstSize = 16 + bytes.readUInt32BE(8);
      if (length[0] === 0) bytes[11]! ^= 0x01; // a low bit of the first entry's length
      else bytes.set(length, 8);
      writeFileSync(path, bytes);
      const metrics = newMetrics();
      const b = await openSpool(d, { segmentBytes: 1024, metrics });
      const seqs = (await drain(b)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
      expect(seqs).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
      expect(await counterValue(metrics.spoolCorruptBytes)).toBe(firstSize);
      expect(await counterValue(metrics.logsDropped, { reason: "spool_corrupt" })).toBe(1);
      await b.close();
    });
  }

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
    const maxBytes = 64 * 1024;
    const s = await openSpool(d, { maxBytes, segmentBytes: 6000, metrics, log });
    let dropped = 0;
    let accepted = 0;
    for (let i = 0; i < 600; i++) {
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
    expect(await counterValue(metrics.logsDropped, { reason: "spool_write_failed" })).toBe(0);
    expect(lines.filter((l) => l.includes("spool full")).length).toBe(1);

    // Acknowledging frees room again.
    for (const e of await drain(s)) s.ack(e);
    await until(() => s.state().bytes < maxBytes / 2 && dirBytes(d) === s.state().bytes, { what: "acked segments deleted" });
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
    await until(() => segmentFiles(d).length === 0, { what: "all segments deleted" });
    expect(existsSync(d)).toBe(true);
  }, 120_000);
});

describe("spool faults", () => {
  test("a failed spool write is counted as spool_write_failed, and a full disk of acknowledged records is given back", async () => {
    const d = dir();
    const metrics = newMetrics();
    const { log, lines } = logCollector();
    const disk = smallDisk(d, 8 * 1024);
    const s = await openSpool(d, { fs: disk.fs, metrics, log, maxBytes: 1 << 30, segmentBytes: 1 << 20 });
    let accepted = 0;
    let dropped = 0;
    for (let i = 0; i < 200; i++) (await s.append(body(i), 1)) ? accepted++ : dropped++;
    expect(accepted).toBeGreaterThan(10);
    expect(dropped).toBeGreaterThan(0); // the disk filled up, the budget did not
    expect(s.state()).toMatchObject({ full: true, dropReason: "spool_write_failed" });
    expect(await counterValue(metrics.logsDropped, { reason: "spool_write_failed" })).toBe(dropped);
    expect(await counterValue(metrics.logsDropped, { reason: "spool_full" })).toBe(0);
    expect(await counterValue(metrics.spoolWriteErrors)).toBe(disk.writeErrors());
    expect(lines.filter((l) => l.includes("spool write failed")).length).toBe(1); // said once, not per batch

    // Everything on the disk is delivered: the live segment is rolled and deleted without a restart.
    for (const e of await drain(s)) s.ack(e);
    await until(() => segmentFiles(d).length === 0, { what: "the acknowledged live segment deleted" });
    expect(await s.append(body(1000), 1)).toBe(true);
    expect(s.state()).toMatchObject({ full: false, dropReason: null });

    // Any failed write (not only ENOSPC) drops that batch only; the next append tries again.
    disk.failing.all = true;
    expect(await s.append(body(1001), 1)).toBe(false);
    disk.failing.all = false;
    expect(await s.append(body(1002), 1)).toBe(true);
    expect(await counterValue(metrics.logsDropped, { reason: "spool_write_failed" })).toBe(dropped + 1);
    const seqs = (await drain(s)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
    expect(seqs).toEqual([1000, 1002]);
    await s.close();
  });

  test("a fully acknowledged live segment is rolled and deleted once appends pause", async () => {
    const d = dir();
    const s = await openSpool(d, { segmentBytes: 1 << 20 });
    for (let i = 0; i < 5; i++) await s.append(body(i), 1);
    const entries = await drain(s);
    for (const e of entries.slice(1)) s.ack(e);
    await s.settled();
    expect(segmentFiles(d).length).toBe(1); // one entry not acknowledged: it stays
    s.ack(entries[0]!);
    await until(() => segmentFiles(d).length === 0, { what: "the idle live segment rolled and deleted" });
    await until(() => s.state().bytes === 0, { what: "its bytes given back" });
    expect(await s.append(body(5), 1)).toBe(true); // a fresh segment
    expect((await s.next())?.body).toEqual(body(5));
    await s.close();
  });

  test("a budget below two segments is refused; segments are at most a quarter of the budget", async () => {
    const d = dir();
    for (const maxBytes of [0, 1000, 64 * 1024 - 1]) await expect(openSpool(d, { maxBytes })).rejects.toThrow(/maxBytes/);
    const s = await openSpool(d, { maxBytes: 64 * 1024, segmentBytes: 16 * 1024 * 1024 });
    for (let i = 0; i < 400; i++) expect(await s.append(body(i), 1)).toBe(true);
    expect(segmentFiles(d).length).toBeGreaterThan(1);
    for (const f of segmentFiles(d)) expect(statSync(join(d, f)).size).toBeLessThanOrEqual(16 * 1024);
    await s.close();
  });

  test("a segment deleted before it is read is skipped, said once and counted", async () => {
    const d = dir();
    const metrics = newMetrics();
    const { log, lines } = logCollector();
    const s = await openSpool(d, { segmentBytes: 1024, metrics, log });
    for (let i = 0; i < 40; i++) await s.append(body(i), 1);
    const files = segmentFiles(d);
    expect(files.length).toBeGreaterThan(3);
    const victim = join(d, files[1]!);
    const inVictim = new Set<number>();
    for (let bytes = readFileSync(victim), at = 8; at < bytes.length; at += 16 + bytes.readUInt32BE(at)) {
      inVictim.add(fromBinary(ReportBoundaryLogsRequestSchema, bytes.subarray(at + 16, at + 16 + bytes.readUInt32BE(at))).logs[0]!.sequenceNumber);
    }
    unlinkSync(victim);
    const seqs = (await drain(s)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => !inVictim.has(i)));
    expect(await counterValue(metrics.logsDropped, { reason: "spool_missing" })).toBe(inVictim.size);
    expect(await counterValue(metrics.spoolSegmentsMissing)).toBe(1);
    expect(lines.filter((l) => l.includes(files[1]!)).length).toBe(1);
    expect(s.state().bytes).toBe(dirBytes(d));
    await s.close();
  });

  test("a segment that cannot be opened is skipped once and left in place; running out of descriptors is retried", async () => {
    const d = dir();
    const files = await closedSpool(d, 30);
    // Armed once the spool is open: then files[0] never opens, files[1] fails once.
    const refuse = new Map<string, string>();
    const fs: SpoolFs = {
      ...nodeFs,
      open: async (path, flags) => {
        const code = flags === "r" ? refuse.get(path) : undefined;
        if (code === "EMFILE") refuse.delete(path);
        if (code) throw Object.assign(new Error(`${code}: simulated`), { code });
        return nodeFs.open(path, flags);
      },
    };
    const metrics = newMetrics();
    const { log, lines } = logCollector();
    const b = await Spool.open({ ...spoolOptions(d, { segmentBytes: 1024, metrics, log }), fs });
    refuse.set(join(d, files[0]!), "EACCES").set(join(d, files[1]!), "EMFILE");
    const first = await b.next().catch((e) => e);
    expect(errnoOf(first)).toBe("EMFILE"); // files[0] skipped, files[1] failed for now
    const rest = await drain(b);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.every((e) => e.segment !== 1)).toBe(true);
    expect(await counterValue(metrics.spoolSegmentsMissing)).toBe(1);
    expect(lines.filter((l) => l.includes(files[0]!)).length).toBe(1);
    expect(existsSync(join(d, files[0]!))).toBe(true);
    await b.close();
  });

  test("the live segment deleted before it is read: its records are counted, appends go on in a new one", async () => {
    const d = dir();
    await closedSpool(d, 1);
    const metrics = newMetrics();
    const s = await openSpool(d, { metrics });
    expect((await s.next())?.body).toEqual(body(0)); // the reader is on the replayed segment
    await s.append(body(1), 3); // the live segment, not opened by the reader yet
    unlinkSync(join(d, segmentFiles(d).at(-1)!));
    expect(await s.next()).toBeNull();
    expect(await counterValue(metrics.logsDropped, { reason: "spool_missing" })).toBe(3);
    expect(await s.append(body(2), 1)).toBe(true);
    expect((await s.next())?.body).toEqual(body(2));
    await s.close();
  });

  test("odd files in the spool directory are left alone; a bad magic keeps the entries; numbers of any length replay", async () => {
    const d = dir();
    const files = await closedSpool(d, 30);
    renameSync(join(d, files[1]!), join(d, "seg-1000000000000.spool"));
    renameSync(join(d, files[2]!), join(d, "seg-99999999999999999999999.spool"));
    const first = join(d, files[0]!);
    const bytes = readFileSync(first);
    bytes.set(new TextEncoder().encode("NOTSPOOL"), 0);
    writeFileSync(first, bytes);
    mkdirSync(join(d, "seg-000000000077.spool"));
    mkdirSync(join(d, "quarantine"));
    writeFileSync(join(d, "seg-000000000078.spool"), "");
    writeFileSync(join(d, "README"), "mine");

    const metrics = newMetrics();
    const { log, lines } = logCollector();
    const b = await openSpool(d, { segmentBytes: 1024, metrics, log });
    const seqs = (await drain(b)).map((e) => fromBinary(ReportBoundaryLogsRequestSchema, e.body).logs[0]!.sequenceNumber);
    expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(await counterValue(metrics.spoolCorruptBytes)).toBe(8);
    expect(lines.some((l) => l.includes("seg-000000000077.spool") && l.includes("not a regular file"))).toBe(true);
    expect(lines.some((l) => l.includes("seg-000000000078.spool") && l.includes("0 bytes"))).toBe(true);
    expect(existsSync(join(d, "seg-000000000077.spool"))).toBe(true);
    expect(existsSync(join(d, "README"))).toBe(true);
    // New segments are numbered past the longest name.
    await b.append(body(99), 1);
    expect(segmentFiles(d).some((f) => f === "seg-100000000000000000000000.spool")).toBe(true);
    await b.close();
  });

  test("new segments are numbered past a directory named like the next segment", async () => {
    const d = dir();
    await closedSpool(d, 1);
    mkdirSync(join(d, "seg-000000000002.spool"));
    const b = await openSpool(d);
    expect(await b.append(body(1), 1)).toBe(true);
    expect(segmentFiles(d)).toEqual(["seg-000000000001.spool", "seg-000000000002.spool", "seg-000000000003.spool"]);
    await b.close();
  });

  test("countRecords counts a request's records without decoding, and refuses bytes that do not walk", () => {
    expect(countRecords(encodeRequest(makeRequest("s", 0, 7)))).toBe(7);
    expect(countRecords(new Uint8Array())).toBe(0);
    const bytes = encodeRequest(makeRequest("s", 0, 3));
    expect(countRecords(bytes.subarray(0, bytes.length - 1))).toBeNull();
    expect(countRecords(new Uint8Array([0x0f]))).toBeNull();
  });
});
