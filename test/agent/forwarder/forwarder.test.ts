// The coderd output end to end: spool on real files, forwarder, Connect
// client, and a real Connect server on 127.0.0.1 that can fail the ways
// coderd does and be stopped and restarted on the same port.
import { afterEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { CoderdOutput, type CoderdOutputConfig } from "../../../src/agent/outputs/coderd.ts";
import type { AgentMetrics } from "../../../src/agent/metrics.ts";
import { serveHttp } from "../../../src/runtime/adapter.ts";
import { encodeRequest, logCollector, makeRequest, newMetrics, openSpool, segmentFiles } from "../spool/helpers.ts";
import { IngestServer, TEST_TOKEN } from "./ingest-server.ts";
import { queuedBatch } from "../../helpers/agent.ts";
import { fromBinary } from "@bufbuild/protobuf";
import { readdirSync } from "node:fs";
import { BoundaryLogSchema, type BoundaryLog } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";
import { until } from "../../helpers/until.ts";
import { tempDir } from "../../helpers/temp.ts";
import { counterValue } from "../../helpers/metrics.ts";

/** The lines of every quarantine file under the spool directory. */
function readQuarantine(dir: string): Array<Record<string, unknown> & { record: string }> {
  const q = join(dir, "quarantine");
  let names: string[] = [];
  try {
    names = readdirSync(q);
  } catch {
    return [];
  }
  return names.flatMap((n) => readFileSync(join(q, n), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)));
}

const decodeLogBytes = (base64: string): BoundaryLog => fromBinary(BoundaryLogSchema, Buffer.from(base64, "base64"));

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<IngestServer> {
  const s = new IngestServer();
  await s.start();
  cleanups.push(() => s.stop());
  return s;
}

function spoolDir(): string {
  const d = tempDir("fwd-");
  cleanups.push(d.cleanup);
  return d.dir;
}

export function outputConfig(dir: string, url: string, over: Partial<CoderdOutputConfig> = {}): CoderdOutputConfig {
  return {
    coderd_url: url,
    agent_token: TEST_TOKEN,
    ca_file: "",
    spool_dir: dir,
    spool_max_bytes: 64 * 1024 * 1024,
    spool_segment_bytes: 64 * 1024,
    spool_fsync: "never",
    spool_fsync_interval: 5,
    batch_max_records: 1000,
    batch_max_bytes: 4 * 1024 * 1024,
    batch_delay: 20,
    max_in_flight: 4,
    retry_initial: 20,
    retry_max: 200,
    ...over,
  };
}

async function openOutput(config: CoderdOutputConfig, metrics: AgentMetrics = newMetrics(), log = logCollector().log): Promise<CoderdOutput> {
  const out = await CoderdOutput.open(config, metrics, log);
  cleanups.push(() => out.close(Date.now()));
  return out;
}

/** Writes `batches` batches of `size` records for each session, interleaved. */
async function writeSessions(out: CoderdOutput, sessions: string[], batches: number, size: number): Promise<void> {
  for (let b = 0; b < batches; b++) {
    for (const s of sessions) {
      const request = makeRequest(s, b * size, size);
      await out.write(queuedBatch(request));
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

describe("coderd output", () => {
  test("coalesces many small session batches into few requests, each record stored once", async () => {
    const srv = await server();
    const metrics = newMetrics();
    const dir = spoolDir();
    // No batch is sealed by time: each goes out when full, however fast the writes are.
    const out = await openOutput(outputConfig(dir, srv.url, { batch_delay: 600_000 }), metrics);
    const sessions = ["a", "b", "c"];
    await writeSessions(out, sessions, 100, 10);
    await until(() => srv.received.size === 3000, { what: "3000 records" });
    for (const s of sessions) expect(srv.sequences(s)).toEqual(range(1000));
    expect([...srv.received.values()].every((n) => n === 1)).toBe(true);
    expect(srv.requestSizes).toEqual([1000, 1000, 1000]); // from 300 session batches
    await until(async () => (await counterValue(metrics.recordsForwarded)) === 3000, { what: "records_forwarded_total" });
    expect(await counterValue(metrics.batchesForwarded)).toBe(srv.requestSizes.length);
    expect(out.notReadyReason()).toBeNull();
    await until(() => segmentFiles(dir).length <= 1, { what: "acked segments deleted" });
    await out.close(Date.now() + 5000);
    expect(segmentFiles(dir)).toEqual([]);
  });

  test("entries bigger than batch_max_records are spread over requests and acked only when all parts are in", async () => {
    const srv = await server();
    await srv.stop(); // every record is in the spool before coderd answers, whatever the write speed
    srv.delayMs = 20;
    const dir = spoolDir();
    const out = await openOutput(outputConfig(dir, srv.url, { batch_max_records: 3, max_in_flight: 2 }));
    await writeSessions(out, ["w1", "w2"], 6, 10);
    await srv.start();
    await until(() => srv.received.size === 120, { what: "all records" });
    expect(srv.sequences("w1")).toEqual(range(60));
    expect(srv.requestSizes.every((n) => n <= 3)).toBe(true);
    expect(srv.maxConcurrent).toBeLessThanOrEqual(2);
    expect(srv.maxConcurrent).toBe(2);
    await out.close(Date.now() + 5000);
    expect(segmentFiles(dir)).toEqual([]);
  });

  test("an outage then recovery delivers everything, nothing lost", async () => {
    const srv = await server();
    await srv.stop();
    const metrics = newMetrics();
    const out = await openOutput(outputConfig(spoolDir(), srv.url), metrics);
    await writeSessions(out, ["x", "y"], 50, 10);
    await until(async () => (await counterValue(metrics.batchesDropped, { reason: "forward_failed" })) >= 3, { what: "failed attempts" });
    expect(out.notReadyReason()).toMatch(/^coderd unreachable/);
    expect(out.state().spool.bytes).toBeGreaterThan(0);
    expect(await counterValue(metrics.logsDropped)).toBe(0);
    await srv.start(); // same port
    await writeSessions(out, ["z"], 5, 10);
    await until(() => srv.received.size === 1050, { what: "all records after recovery" });
    expect(srv.sequences("x")).toEqual(range(500));
    expect(srv.sequences("y")).toEqual(range(500));
    expect(srv.sequences("z")).toEqual(range(50));
    await until(() => out.notReadyReason() === null, { what: "ready again" });
    expect(await counterValue(metrics.forwardRetries)).toBeGreaterThan(0);
  });

  test("unauthenticated: not ready, loud, records kept and delivered once the token is accepted", async () => {
    const srv = await server();
    srv.failure = "unauthenticated";
    const metrics = newMetrics();
    const { log, lines } = logCollector();
    const out = await openOutput(outputConfig(spoolDir(), srv.url), metrics, log);
    await writeSessions(out, ["s"], 5, 10);
    await until(() => out.notReadyReason() === "coderd rejected the agent token (unauthenticated)", { what: "unauthenticated reason" });
    expect(lines.some((l) => l.includes("rejected the agent token"))).toBe(true);
    expect(await counterValue(metrics.forwardRetries, { code: "unauthenticated" })).toBeGreaterThan(0);
    expect(srv.received.size).toBe(0);
    expect(out.state().spool.bytes).toBeGreaterThan(0);
    srv.failure = "none";
    await until(() => srv.received.size === 50, { what: "delivery after the token is accepted" });
    await until(() => out.notReadyReason() === null, { what: "ready again" });
  });

  test("a wrong token is refused by the real server check", async () => {
    const srv = await server();
    const out = await openOutput({ ...outputConfig(spoolDir(), srv.url), agent_token: "wrong" });
    await writeSessions(out, ["s"], 1, 3);
    await until(() => out.notReadyReason()?.includes("unauthenticated") ?? false, { what: "unauthenticated" });
    expect(srv.received.size).toBe(0);
  });

  test("invalid_argument for a too-big batch splits it until coderd takes it", async () => {
    const srv = await server();
    srv.maxRecords = 7;
    const metrics = newMetrics();
    const out = await openOutput(outputConfig(spoolDir(), srv.url, { batch_delay: 100 }), metrics);
    await writeSessions(out, ["big"], 10, 10);
    await until(() => srv.received.size === 100, { what: "all 100 records" });
    expect(srv.sequences("big")).toEqual(range(100));
    expect(srv.requestSizes.every((n) => n <= 7)).toBe(true);
    expect(await counterValue(metrics.forwardRetries, { code: "invalid_argument" })).toBeGreaterThan(0);
    await until(() => out.notReadyReason() === null, { what: "ready" });
  });

  test("a record coderd refuses is isolated, quarantined, counted and acknowledged, never retried; the rest flows", async () => {
    const srv = await server();
    srv.refuse.add("p:13");
    const { log, lines } = logCollector();
    const metrics = newMetrics();
    const dir = spoolDir();
    const out = await openOutput(outputConfig(dir, srv.url), metrics, log);
    await writeSessions(out, ["p"], 3, 10);
    await until(() => srv.received.size === 29, { what: "all but the refused record" });
    await until(async () => (await counterValue(metrics.logsDropped, { reason: "invalid" })) === 1, { what: "logs_dropped_total{reason=invalid}" });
    const quarantined = readQuarantine(dir);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ session_id: "p", sequence_number: 13, reason: "invalid_argument: bad record" });
    expect(decodeLogBytes(quarantined[0]!.record).sequenceNumber).toBe(13);
    expect(lines.some((l) => l.includes("session_id=p sequence_number=13") && l.includes("quarantine"))).toBe(true);
    expect(out.notReadyReason()).toBeNull();
    const attempts = srv.attempts;
    await out.close(Date.now() + 5000);
    expect(srv.attempts).toBe(attempts); // not sent again
    expect(segmentFiles(dir)).toEqual([]); // acknowledged with the rest of its entry
  });

  test("a refused record the quarantine cannot take stays in the spool, uncounted, until it can", async () => {
    const srv = await server();
    srv.refuse.add("q:2");
    const dir = spoolDir();
    writeFileSync(join(dir, "quarantine"), "in the way"); // the quarantine directory cannot be made
    const { log, lines } = logCollector();
    const metrics = newMetrics();
    const out = await openOutput(outputConfig(dir, srv.url), metrics, log);
    await writeSessions(out, ["q"], 1, 5);
    await until(() => srv.received.size === 4, { what: "the other records" });
    await until(() => lines.some((l) => l.includes("cannot write refused record session_id=q sequence_number=2")), { what: "the loud line" });
    expect(await counterValue(metrics.logsDropped, { reason: "invalid" })).toBe(0);
    const started = Date.now();
    await out.close(started + 300); // stops retrying the write at the deadline
    expect(Date.now() - started).toBeLessThan(5000);
    expect(segmentFiles(dir).length).toBeGreaterThan(0); // its entry was not acknowledged

    rmSync(join(dir, "quarantine"));
    const again = newMetrics();
    const next = await openOutput(outputConfig(dir, srv.url), again);
    await until(async () => (await counterValue(again.logsDropped, { reason: "invalid" })) === 1, { what: "quarantined once it can be" });
    expect(readQuarantine(dir)).toHaveLength(1);
    await next.close(Date.now() + 5000);
    expect(segmentFiles(dir)).toEqual([]);
  });

  test("a record refused in an old spool is quarantined at the next start and not sent again after it", async () => {
    const srv = await server();
    srv.refuse.add("old:4");
    const dir = spoolDir();
    const first = await CoderdOutput.open(outputConfig(dir, "http://127.0.0.1:1"), newMetrics(), () => {});
    await writeSessions(first, ["old"], 2, 5);
    await first.close(Date.now());
    const metrics = newMetrics();
    const out = await openOutput(outputConfig(dir, srv.url), metrics);
    await until(() => srv.received.size === 9, { what: "the other records" });
    await until(async () => (await counterValue(metrics.logsDropped, { reason: "invalid" })) === 1, { what: "counted" });
    await out.close(Date.now() + 5000);
    const again = await openOutput(outputConfig(dir, srv.url));
    await again.close(Date.now() + 5000);
    expect(readQuarantine(dir)).toHaveLength(1);
  });

  test("records an older agent spooled that break the record rules are quarantined without being sent; the rest is delivered", async () => {
    const dir = spoolDir();
    // An older agent accepted these: a time with nanos out of range in an entry of good records,
    // a session id over its cap, and bytes that are not a request at all.
    const old = await openSpool(dir);
    const mixed = makeRequest("old", 0, 4);
    mixed.logs[2]!.time!.nanos = 1_000_000_000;
    await old.append(encodeRequest(mixed), 4);
    await old.append(encodeRequest(makeRequest("x".repeat(129), 0, 2)), 2);
    await old.append(new Uint8Array([0x0a, 0x05, 0x01]), 1);
    await old.append(encodeRequest(makeRequest("old", 4, 1)), 1);
    await old.close();
    const appended = Date.now();
    await until(() => Date.now() > appended, { what: "the clock to move on" }); // this run starts after they were spooled

    const srv = await server(); // takes anything protobuf-es decodes, as an older coderd would
    const metrics = newMetrics();
    const out = await openOutput(outputConfig(dir, srv.url), metrics);
    await until(() => srv.sequences("old").length === 4, { what: "the valid records" });
    await until(async () => (await counterValue(metrics.logsDropped, { reason: "invalid" })) === 4, { what: "1 + 2 + 1 set aside" });
    expect(srv.sequences("old")).toEqual([0, 1, 3, 4]);
    expect(srv.received.size).toBe(4);
    const lines = readQuarantine(dir);
    expect(lines.map((l) => [l.session_id, l.sequence_number]).sort()).toEqual([["", null], ["old", 2], ["x".repeat(129), 0], ["x".repeat(129), 1]].sort());
    expect(lines.find((l) => l.sequence_number === 2)!.reason).toContain("time.nanos");
    expect(lines.find((l) => l.session_id === "x".repeat(129))!.reason).toContain("session_id");
    expect(Buffer.from(lines.find((l) => l.session_id === "")!.record, "base64")).toEqual(Buffer.from([0x0a, 0x05, 0x01]));
    await out.close(Date.now() + 5000);
    expect(segmentFiles(dir)).toEqual([]);
  });

  for (const failure of ["unavailable", "deadline_exceeded"] as const) {
    test(`coderd answering ${failure}: retried, counted under ${failure}, nothing lost`, async () => {
      const srv = await server();
      srv.failure = failure;
      const metrics = newMetrics();
      const out = await openOutput(outputConfig(spoolDir(), srv.url), metrics);
      await writeSessions(out, ["u", "v"], 5, 4);
      await until(async () => (await counterValue(metrics.forwardRetries, { code: failure })) >= 2, { what: `retries counted as ${failure}` });
      expect(out.notReadyReason()).toStartWith(`coderd unreachable: ${failure}: `);
      expect(await counterValue(metrics.forwardRetries, { code: "unknown" })).toBe(0);
      expect(srv.received.size).toBe(0);
      srv.failure = "none";
      await until(() => srv.received.size === 40, { what: "every record after recovery" });
      expect(srv.sequences("u")).toEqual(range(20));
      expect(srv.sequences("v")).toEqual(range(20));
      expect(await counterValue(metrics.logsDropped)).toBe(0);
      await until(() => out.notReadyReason() === null, { what: "ready again" });
    });
  }

  test("resource_exhausted backs off and then delivers", async () => {
    const srv = await server();
    srv.failure = "resource_exhausted";
    const metrics = newMetrics();
    const out = await openOutput(outputConfig(spoolDir(), srv.url), metrics);
    await writeSessions(out, ["r"], 4, 5);
    await until(async () => (await counterValue(metrics.forwardRetries, { code: "resource_exhausted" })) >= 2, { what: "retries" });
    expect(out.notReadyReason()).toContain("resource_exhausted");
    srv.failure = "none";
    await until(() => srv.received.size === 20, { what: "delivery" });
  });

  test("close() delivers what is pending before the deadline", async () => {
    const srv = await server();
    const dir = spoolDir();
    const out = await CoderdOutput.open(outputConfig(dir, srv.url, { batch_delay: 60_000 }), newMetrics(), () => {});
    await writeSessions(out, ["c1", "c2"], 20, 5);
    await out.close(Date.now() + 20_000);
    expect(srv.received.size).toBe(200);
    expect(segmentFiles(dir)).toEqual([]);
    await expect(out.write(queuedBatch(makeRequest("c1", 999, 1)))).rejects.toThrow(/closed/);
  });

  test("close() with coderd down stops at the deadline and leaves the records for the next run", async () => {
    const srv = await server();
    await srv.stop();
    const dir = spoolDir();
    const out = await CoderdOutput.open(outputConfig(dir, srv.url), newMetrics(), () => {});
    await writeSessions(out, ["d"], 10, 10);
    const started = Date.now();
    await out.close(started + 300);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(segmentFiles(dir).length).toBeGreaterThan(0);

    await srv.start();
    const again = await openOutput(outputConfig(dir, srv.url));
    await until(() => srv.received.size === 100, { what: "replayed records" });
    expect(srv.sequences("d")).toEqual(range(100));
    await again.close(Date.now() + 5000);
    expect(segmentFiles(dir)).toEqual([]);
  });

  test("after an agent crash (SIGKILL) the next run delivers every accepted record", async () => {
    const srv = await server();
    const dir = spoolDir();
    srv.maxRecords = 1000;
    // The child delivers part of its records, then dies mid-stream with coderd down.
    const child = spawn(process.execPath, [join(import.meta.dir, "crash-agent.ts"), dir, srv.url, "300"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (c) => (stdout += c));
    const exited = new Promise<string | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    cleanups.push(() => void child.kill("SIGKILL"));
    await until(() => stdout.includes("half"), { what: "first half written" });
    await until(() => srv.received.size >= 100, { what: "first half partly delivered" });
    await srv.stop();
    process.kill(child.pid!, "SIGUSR2"); // tells it to write the rest, then it kills itself
    expect(await exited).toBe("SIGKILL");
    expect(stdout).toContain("written 300");
    const before = srv.received.size;
    expect(before).toBeLessThan(300 * 5);

    await srv.start();
    const out = await openOutput(outputConfig(dir, srv.url));
    await until(() => srv.received.size === 1500, { what: "every record after restart" });
    expect(srv.sequences("crash")).toEqual(range(1500));
    await out.close(Date.now() + 5000);
    expect(segmentFiles(dir)).toEqual([]);
  }, 30_000); // a child process and two server restarts: slow on a loaded machine

  test("https with --ca-file trusts coderd's certificate", async () => {
    const tls = tempDir("tls-");
    cleanups.push(tls.cleanup);
    const made = spawnSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", join(tls.dir, "key.pem"), "-out", join(tls.dir, "cert.pem"),
    ]);
    expect(made.status).toBe(0);
    const srv = new IngestServer();
    const https = await serveHttp({
      hostname: "127.0.0.1",
      port: 0,
      fetch: srv.handle,
      tls: { cert: readFileSync(join(tls.dir, "cert.pem"), "utf8"), key: readFileSync(join(tls.dir, "key.pem"), "utf8") },
    });
    cleanups.push(() => https.stop(true));
    const url = `https://127.0.0.1:${https.port}`;

    const untrusted = await openOutput(outputConfig(spoolDir(), url));
    await writeSessions(untrusted, ["t"], 1, 3);
    await until(() => untrusted.notReadyReason()?.startsWith("coderd unreachable") ?? false, { what: "certificate refused" });
    expect(srv.received.size).toBe(0);

    const trusted = await openOutput(outputConfig(spoolDir(), url, { ca_file: join(tls.dir, "cert.pem") }));
    await writeSessions(trusted, ["t"], 1, 3);
    await until(() => srv.received.size === 3, { what: "delivered over https" });
  });

  test("an unreadable --ca-file is a clear error", async () => {
    const err = await CoderdOutput.open(outputConfig(spoolDir(), "https://127.0.0.1:1", { ca_file: "/nonexistent/ca.pem" }), newMetrics(), () => {}).catch((e) => e);
    expect(String(err)).toContain("cannot read --ca-file /nonexistent/ca.pem");
  });
});
