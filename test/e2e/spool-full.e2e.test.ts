// A full spool drops whole batches and counts every dropped record as
// logs_dropped_total{reason="spool_full"}: with the real binary in both roles,
// records sent while coderd is not yet running overflow a small spool; once
// coderd starts and the agent drains, the records missing from the store are
// exactly as many as spool_full counted, and every other record is stored once.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { BoundaryClient, demoRecords } from "../../src/client/index.ts";
import {
  A, agentDrop, binary, coderdPaths, emittedCounts, freePort, Ledger, metric, type Metrics, type Proc, scrape, startAgent, startCoderd, storedCounts, storedRows, } from "./harness.ts";
import { settled, until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";

const RECORDS = 6000;
const SESSIONS = 3;

const { dir, cleanup } = tempDir("br-spoolfull-");
const procs = new Set<Proc>();
afterAll(async () => {
  for (const p of procs) await p.stop("SIGKILL");
  cleanup();
});

test(
  "spool full: the records missing from the store are exactly the spool_full count; the rest are stored exactly once",
  async () => {
    binary();
    const paths = coderdPaths(dir);
    const agentPaths = { socket: join(dir, "boundary-audit.sock"), spoolDir: join(dir, "spool") };
    const coderdPort = await freePort(); // coderd is not running yet
    const agent = await startAgent(agentPaths, coderdPort, [
      "--spool-max-bytes", "256KiB", "--spool-segment-bytes", "32KiB", "--retry-initial", "50ms", "--retry-max", "300ms",
    ]);
    procs.add(agent);

    const ledger = new Ledger();
    const samples = demoRecords();
    const clients = Array.from({ length: SESSIONS }, () => {
      const c: BoundaryClient = new BoundaryClient({ socketPath: agentPaths.socket, flushInterval: 50, onWritten: (logs, at) => ledger.record(c.sessionId, logs, at) });
      return c;
    });
    await Promise.all(
      clients.map(async (c, s) => {
        for (let i = s; i < RECORDS; i += SESSIONS) await c.send(samples[i % samples.length]!);
        expect(await c.close(30_000)).toBe(0);
      }),
    );
    expect(ledger.written).toHaveLength(RECORDS);
    for (const c of clients) expect(c.stats.droppedBatchFull + c.stats.droppedChannelFull).toBe(0);

    // The agent receives every record.
    const before = await settled(() => scrape(agent.port), (m) => metric(m, `${A}records_received_total`) >= RECORDS && metric(m, `${A}queue_records`) === 0, {
      timeoutMs: 30_000, intervalMs: 200,
    });
    expect(metric(before, `${A}records_received_total`)).toBe(RECORDS);
    expect(metric(before, `${A}queue_records`)).toBe(0);
    const spoolFull = metric(before, agentDrop("spool_full"));
    expect(spoolFull).toBeGreaterThan(0); // the spool did fill up
    expect(spoolFull).toBeLessThan(RECORDS);
    expect(metric(before, `${A}spool_bytes`)).toBeLessThanOrEqual(256 * 1024);
    expect(metric(before, `${A}records_forwarded_total`)).toBe(0);

    const coderd = await startCoderd(paths, coderdPort);
    procs.add(coderd);
    const want = RECORDS - spoolFull;
    // The agent delivers its spool.
    const after = await settled(() => scrape(agent.port), (m) => metric(m, `${A}records_forwarded_total`) >= want, { timeoutMs: 60_000, intervalMs: 200 });
    expect(metric(after, `${A}records_forwarded_total`)).toBe(want);
    expect(metric(after, agentDrop("spool_full"))).toBe(spoolFull);
    for (const reason of ["buffer_full", "forward_failed"]) expect({ reason, n: metric(after, agentDrop(reason)) }).toEqual({ reason, n: 0 });
    expect(metric(after, `${A}frames_rejected_total`)).toBe(0);
    expect(await agent.stop("SIGTERM")).toBe(0);
    procs.delete(agent);
    const coderdMetrics = await scrape(coderd.port);
    expect(await coderd.stop("SIGTERM")).toBe(0);
    procs.delete(coderd);

    expect(storedRows(paths.db)).toBe(want);
    const stored = storedCounts(paths.db);
    expect([...stored].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...stored.keys()].filter((k) => !ledger.keys.has(k))).toEqual([]);
    const missing = ledger.written.filter((r) => !stored.has(r.key)).length;
    expect(missing).toBe(spoolFull);
    const emitted = emittedCounts(coderd.child.stderr());
    expect(emitted.size).toBe(want);
    expect([...emitted].filter(([k, n]) => n !== 1 || !stored.has(k))).toEqual([]);
    const ingested =
      metric(coderdMetrics, `coderd_boundary_records_ingested_total{decision="allow"}`) +
      metric(coderdMetrics, `coderd_boundary_records_ingested_total{decision="deny"}`);
    expect(ingested).toBe(want);
    expect(metric(coderdMetrics, "coderd_boundary_records_duplicate_total")).toBe(0);
    console.log(`spool full: ${RECORDS} sent, ${spoolFull} dropped as spool_full, ${want} stored once each`);
  },
  150_000,
);
