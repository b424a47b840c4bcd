// Retention purges by captured_at in bounded batches; a store that really
// fails (a lock held by another connection, a dropped table) answers
// `unavailable`, emits nothing, and the retried batch is stored once.
import { afterEach, describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { openSqlite } from "../../src/runtime/adapter.ts";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import { createCoderdMetrics } from "../../src/coderd/metrics.ts";
import { Retention } from "../../src/coderd/retention.ts";
import { AGENT_A, TestClock, batch, log, startTestServer, type TestServer } from "./helpers.ts";
import { tempDir } from "../helpers/temp.ts";
import { join } from "node:path";
import { until } from "../helpers/until.ts";
import { readMetric } from "../helpers/metrics.ts";

const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const S = "20000000-0000-4000-8000-000000000001";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("retention", () => {
  test("the timer purges records captured before now - retention, and counts them", async () => {
    const clock = new TestClock(T0);
    t = await startTestServer(["--retention", "1h", "--retention-interval", "50ms"], { now: clock.now });
    await t.client().reportBoundaryLogs(batch([log(0, true, "https://old.example/"), log(1, false, "https://old.example/")], S));
    clock.advance(30 * 60_000);
    await t.client().reportBoundaryLogs(batch([log(2, true, "https://new.example/")], S));
    clock.advance(31 * 60_000); // old ones are 61 min old, the new one 31 min
    await until(async () => (await t!.adminJson("logs")).logs.length === 1, { what: "the purge", timeoutMs: 15_000 });
    expect((await t.adminJson("logs")).logs[0].http_url).toBe("https://new.example/");
    expect(await readMetric(t.server.url, "coderd_boundary_records_purged_total")).toBe(2);
    // The session is kept while it has recent activity.
    expect((await t.adminJson("sessions")).sessions.length).toBe(1);
  });

  test("--retention 0 keeps everything", async () => {
    const clock = new TestClock(T0);
    t = await startTestServer(["--retention", "0"], { now: clock.now });
    await t.client().reportBoundaryLogs(batch([log(0, true, "https://keep.example/")], S));
    clock.advance(10 * 365 * 86_400_000);
    expect(await t.server.retention.runOnce()).toBe(0);
    expect((await t.adminJson("logs")).logs.length).toBe(1);
  });

  test("a purge deletes in bounded statements until nothing old is left", async () => {
    const { dir, cleanup } = tempDir("coderd-retention-");
    const store = await SqliteStore.open(join(dir, "r.db"));
    try {
      const identity = { agentId: "", agentName: "", workspaceId: AGENT_A.entry.workspace_id, workspaceName: "w", ownerId: "", ownerName: "o", templateId: "", templateVersionId: "" };
      const records = Array.from({ length: 25 }, (_, i) => ({ sequenceNumber: i, allowed: true, httpMethod: "GET", httpUrl: "https://a/", httpHost: "a", matchedRule: "", eventTime: "x" }));
      await store.insertBatch({ identity, sessionId: S, deduplicate: true, confinedProcessName: "c", capturedAt: new Date(T0), records });
      await store.insertBatch({ identity, sessionId: "", deduplicate: false, confinedProcessName: "c", capturedAt: new Date(T0 + 10_000), records: records.slice(0, 3) });
      // The stderr lines have taken every record (the purge spares untaken ones).
      await store.advanceCursor("stderr", (await store.unconsumed("stderr", 100)).at(-1)!.id);
      const calls: number[] = [];
      const counting = Object.create(store) as SqliteStore;
      counting.purgeBefore = async (cutoff, limit) => {
        const n = await store.purgeBefore(cutoff, limit);
        calls.push(n);
        return n;
      };
      const metrics = createCoderdMetrics();
      const retention = new Retention({ store: counting, metrics, retentionMs: 5_000, intervalMs: 1000, now: () => new Date(T0 + 6_000), log: () => {}, batchSize: 10 });
      expect(await retention.runOnce()).toBe(25);
      expect(calls).toEqual([10, 10, 5]);
      expect((await store.listLogs({ limit: 100 })).items.length).toBe(3);
    } finally {
      await store.close();
      cleanup();
    }
  });
});

describe("store failure", () => {
  test("a write lock held by another process's connection: unavailable, nothing emitted; the retry is stored once", async () => {
    t = await startTestServer([], { busyTimeoutMs: 100 });
    const other = await openSqlite(t.dbPath);
    const req = batch([log(0, false, "https://locked.example/")], S);
    try {
      other.exec("BEGIN IMMEDIATE");
      const before = t.writes.join("");
      const err = await t.client().reportBoundaryLogs(req).catch((e) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.Unavailable);
      expect(t.lines().filter((l) => l.includes("locked.example"))).toEqual([]);
      expect(t.writes.join("").slice(before.length)).toContain("store failed");
      other.exec("ROLLBACK");
    } finally {
      other.close();
    }
    await t.client().reportBoundaryLogs(req);
    await t.client().reportBoundaryLogs(req);
    expect(t.lines().filter((l) => l.includes("locked.example")).length).toBe(1);
    expect((await t.adminJson("logs?domain=locked.example")).logs.length).toBe(1);
    expect(await readMetric(t.server.url, "coderd_boundary_rpcs_total", { code: "unavailable" })).toBe(1);
  });

  test("a dropped table: /readyz is 503 with the reason and ingest is unavailable", async () => {
    t = await startTestServer([], { busyTimeoutMs: 100 });
    expect((await fetch(`${t.server.url}/readyz`)).status).toBe(200);
    const other = await openSqlite(t.dbPath);
    other.exec("DROP TABLE boundary_logs");
    other.close();
    const ready = await fetch(`${t.server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).reason).toContain("boundary_logs");
    const code = await t.client().reportBoundaryLogs(batch([log(0, false, "https://gone.example/")], S)).then(() => "ok", (e) => ConnectError.from(e).code);
    expect(code).toBe(Code.Unavailable);
    expect(t.lines()).toEqual([]);
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  });
});
