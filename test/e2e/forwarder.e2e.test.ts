// The forwarder against the COMPILED agent, with production-like retry times:
//  - records coderd refuses (invalid_argument: a stricter coderd, or an old
//    spool) are isolated, quarantined under <spool-dir>/quarantine/ and
//    counted; they never hold an in-flight slot, and healthy sessions are
//    delivered within seconds;
//  - network failures to coderd count and read as `unavailable`, not `unknown`.
// coderd here is a real Connect server in the test process
// (test/agent/forwarder/ingest-server.ts) that can refuse marked records.
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { BoundaryClient } from "../../src/client/index.ts";
import { BoundaryLogSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { IngestServer } from "../agent/forwarder/ingest-server.ts";
import { encodeRequest, makeRequest, openSpool } from "../agent/spool/helpers.ts";
import { A, AGENT_TOKEN, type AgentPaths, agentDrop, binary, freePort, metric, type Proc, scrape, startAgent } from "./harness.ts";
import { settled, until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";

const procs = new Set<Proc>();
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const p of procs) await p.stop("SIGKILL");
  for (const c of cleanups.reverse()) await c();
});

const PRODUCTION_RETRY = ["--retry-initial", "1s", "--retry-max", "30s"];
const POISON = "POISON";

async function readyz(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: await res.text() };
}

interface QuarantineLine {
  time: string;
  reason: string;
  session_id: string;
  sequence_number: number | null;
  record: string;
}

function quarantined(spoolDir: string): QuarantineLine[] {
  const dir = join(spoolDir, "quarantine");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".ndjson"))
    .flatMap((n) => readFileSync(join(dir, n), "utf8").split("\n").filter((l) => l !== ""))
    .map((l) => JSON.parse(l) as QuarantineLine);
}

/** Writes `count` records on a new session; those at `poisonAt` carry the marker coderd refuses. */
async function session(socket: string, count: number, poisonAt: number[] = []): Promise<string> {
  const client = new BoundaryClient({ socketPath: socket, flushInterval: 20 });
  for (let i = 0; i < count; i++) {
    const url = poisonAt.includes(i) ? `https://evil.example/${POISON}/${i}` : `https://api.example/ok/${i}`;
    await client.send({ allowed: false, method: "GET", url });
  }
  expect(await client.close(30_000)).toBe(0);
  return client.sessionId;
}

test(
  "an older agent's spool with invalid records: they are quarantined unsent, the rest delivered, nothing wedged",
  async () => {
    binary();
    const { dir, cleanup } = tempDir("br-oldspool-");
    cleanups.push(cleanup);
    const paths = { socket: join(dir, "boundary-audit.sock"), spoolDir: join(dir, "spool") };
    // What an agent without the record rules accepted and spooled: issue #9's
    // poison (a time claiming 5 bytes where 2 remain), nanos out of range, and good records.
    const spool = await openSpool(paths.spoolDir);
    const good = makeRequest("11111111-2222-4333-8444-555555555555", 0, 3);
    const badTime = makeRequest("11111111-2222-4333-8444-555555555555", 3, 1);
    badTime.logs[0]!.time!.nanos = 1_000_000_000;
    const poisonRecord = Buffer.concat([Buffer.from("1a1b0a034745541214", "hex"), Buffer.from("https://example.com/"), Buffer.from("12050801", "hex")]);
    const sid = Buffer.from("11111111-2222-4333-8444-555555555550");
    const poison = Buffer.concat([Buffer.from([0x0a, poisonRecord.length]), poisonRecord, Buffer.from("1a0178", "hex"), Buffer.from([0x12, sid.length]), sid]);
    await spool.append(poison, 1);
    await spool.append(encodeRequest(badTime), 1);
    await spool.append(encodeRequest(good), 3);
    await spool.close();

    const srv = new IngestServer(); // like an older coderd, it answers `internal` to what protobuf cannot parse
    srv.token = AGENT_TOKEN;
    await srv.start();
    cleanups.push(() => srv.stop());
    const agent = await startAgent(paths, srv.port, PRODUCTION_RETRY);
    procs.add(agent);

    await until(() => srv.received.size === 3, { what: "the good records", timeoutMs: 20_000, intervalMs: 100 }).catch(() => {});
    expect(srv.sequences("11111111-2222-4333-8444-555555555555")).toEqual([0, 1, 2]);
    await until(async () => metric(await scrape(agent.port), agentDrop("invalid")) === 2, { what: "both set aside", timeoutMs: 10_000, intervalMs: 200 }).catch(() => {});
    expect(metric(await scrape(agent.port), agentDrop("invalid"))).toBe(2);
    const reasons = quarantined(paths.spoolDir).map((l) => l.reason).sort();
    expect(reasons).toHaveLength(2);
    expect(reasons.every((r) => r.startsWith("invalid record"))).toBe(true);
    expect(reasons.some((r) => r.includes("time.nanos"))).toBe(true);
    await until(async () => (await readyz(agent.port)).status === 200, { what: "/readyz 200", timeoutMs: 10_000, intervalMs: 200 }).catch(() => {});
    expect(await readyz(agent.port)).toMatchObject({ status: 200 });
  },
  60_000,
);

/** The agent (compiled binary) with --output coderd pointed at a port nobody listens on. */
async function agentWithoutCoderd(prefix: string, extra: string[] = []): Promise<{ paths: AgentPaths; agent: Proc }> {
  binary();
  const { dir, cleanup } = tempDir(prefix);
  cleanups.push(cleanup);
  const paths = { socket: join(dir, "boundary-audit.sock"), spoolDir: join(dir, "spool") };
  const agent = await startAgent(paths, await freePort(), extra);
  procs.add(agent);
  return { paths, agent };
}

test(
  "refused records stall other sessions: poison is quarantined and counted, healthy sessions are delivered within seconds",
  async () => {
    binary();
    const { dir, cleanup } = tempDir("br-poison-");
    cleanups.push(cleanup);
    const srv = new IngestServer();
    srv.token = AGENT_TOKEN;
    srv.refuseUrlContaining = POISON;
    await srv.start();
    cleanups.push(() => srv.stop());
    const paths = { socket: join(dir, "boundary-audit.sock"), spoolDir: join(dir, "spool") };
    const agent = await startAgent(paths, srv.port, [...PRODUCTION_RETRY, "--max-in-flight", "2", "--batch-delay", "20ms"]);
    procs.add(agent);

    // Poison first: three sessions of nothing but poison, two with poison among good records.
    const poisonOnly = await Promise.all([1, 2, 3].map(() => session(paths.socket, 1, [0])));
    const mixed = await Promise.all([1, 2].map(() => session(paths.socket, 50, [10, 37])));
    const healthy = await Promise.all([1, 2, 3, 4].map(() => session(paths.socket, 250)));
    const POISONED = poisonOnly.length + 2 * mixed.length;

    const started = Date.now();
    const delivered = () => healthy.every((s) => srv.sequences(s).length === 250) && mixed.every((s) => srv.sequences(s).length === 48);
    await until(delivered, { what: "every healthy record delivered", timeoutMs: 20_000, intervalMs: 100 }).catch(() => {});
    const took = Date.now() - started;
    for (const s of healthy) expect(srv.sequences(s)).toHaveLength(250);
    for (const s of mixed) expect(srv.sequences(s)).toEqual(Array.from({ length: 50 }, (_, i) => i).filter((i) => i !== 10 && i !== 37));
    expect(took).toBeLessThan(20_000);

    await until(async () => metric(await scrape(agent.port), agentDrop("invalid")) === POISONED, { what: "the poison counted as invalid", timeoutMs: 10_000, intervalMs: 200 }).catch(() => {});
    const m = await scrape(agent.port);
    expect(metric(m, agentDrop("invalid"))).toBe(POISONED);
    expect(metric(m, `${A}records_forwarded_total`)).toBe(4 * 250 + 2 * 48);

    const lines = quarantined(paths.spoolDir);
    expect(lines).toHaveLength(POISONED);
    const keys = lines.map((l) => `${l.session_id}:${l.sequence_number}`).sort();
    expect(keys).toEqual([...poisonOnly.map((s) => `${s}:0`), ...mixed.flatMap((s) => [`${s}:10`, `${s}:37`])].sort());
    for (const l of lines) {
      expect(l.reason).toContain("invalid_argument");
      expect(Number.isNaN(Date.parse(l.time))).toBe(false);
      const log = fromBinary(BoundaryLogSchema, Buffer.from(l.record, "base64"));
      expect(log.sequenceNumber).toBe(l.sequence_number!);
      expect(log.resource.case === "httpRequest" && log.resource.value.url.includes(POISON)).toBe(true);
    }
    for (const key of srv.received.keys()) expect(key.includes(POISON)).toBe(false);

    await until(async () => (await readyz(agent.port)).status === 200, { what: "/readyz 200", timeoutMs: 10_000, intervalMs: 200 }).catch(() => {});
    expect(await readyz(agent.port)).toMatchObject({ status: 200 });

    // Acknowledged in the spool: a restart does not send them again.
    expect(await agent.stop("SIGTERM")).toBe(0);
    procs.delete(agent);
    const attempts = srv.attempts;
    const again = await startAgent(paths, srv.port, PRODUCTION_RETRY);
    procs.add(again);
    await session(paths.socket, 1);
    await until(async () => metric(await scrape(again.port), `${A}records_forwarded_total`) === 1, { what: "the restarted agent forwards", timeoutMs: 10_000, intervalMs: 200 });
    expect(srv.attempts - attempts).toBe(1);
    expect(quarantined(paths.spoolDir)).toHaveLength(POISONED);
  },
  90_000,
);

test(
  "coderd not listening: retries are counted as unavailable, /readyz says coderd unreachable: unavailable",
  async () => {
    const { paths, agent } = await agentWithoutCoderd("br-nocoderd-", ["--retry-initial", "50ms", "--retry-max", "200ms"]);

    await session(paths.socket, 5);
    const m = await settled(() => scrape(agent.port), (m) => metric(m, `${A}forward_retries_total{code="unavailable"}`) >= 2, { timeoutMs: 15_000, intervalMs: 200 });
    expect(metric(m, `${A}forward_retries_total{code="unavailable"}`)).toBeGreaterThanOrEqual(2);
    expect(metric(m, `${A}forward_retries_total{code="unknown"}`)).toBe(0);
    const ready = await readyz(agent.port);
    expect(ready.status).toBe(503);
    expect(ready.body).toContain("coderd unreachable: unavailable");
    expect(ready.body).not.toContain("unknown");
    expect(metric(m, agentDrop("forward_failed"))).toBe(0);
  },
  60_000,
);

test(
  "forward_retries_total{code} is exposed at 0 for every code from the start",
  async () => {
    const { agent } = await agentWithoutCoderd("br-retrycodes-");
    const m = await scrape(agent.port);
    for (const code of ["unavailable", "unknown", "deadline_exceeded", "invalid_argument", "unauthenticated", "resource_exhausted"]) {
      expect(metric(m, `${A}forward_retries_total{code="${code}"}`)).toBe(0);
    }
  },
  60_000,
);
