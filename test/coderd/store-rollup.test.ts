// The hourly rollup (migrations.ts, src/coderd/store/sqlite-rollup.ts): on
// random records, random filters and random windows (hour-aligned or not),
// stats, top lists and charts read from the rollup equal the same queries
// answered by scanning records (url_contains "://", which every URL here
// holds, is a filter the rollup does not carry, so it forces the scan),
// before and after retention deletes and duplicate inserts. The rollup
// table itself always equals a GROUP BY over the records.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { join } from "node:path";
import { MIGRATIONS, ROLLUP_VERSION } from "../../src/coderd/store/migrations.ts";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import type { LogFilter, NewRecord } from "../../src/coderd/store/store.ts";
import type { AgentIdentity } from "../../src/record/identity.ts";
import { openSqlite, type SqliteDatabase } from "../../src/runtime/adapter.ts";
import { tempDir } from "../helpers/temp.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BASE = Date.parse("2025-12-08T00:00:00.000Z");
const SPAN = DAY;

/** Two share a workspace id (a renamed workspace), two share a name (different workspaces). */
const WORKSPACES = [
  { id: "10000000-0000-4000-8000-000000000001", name: "alice-dev", owner: "alice" },
  { id: "10000000-0000-4000-8000-000000000001", name: "alice-renamed", owner: "alice" },
  { id: "10000000-0000-4000-8000-000000000002", name: "bob-ws", owner: "bob" },
  { id: "10000000-0000-4000-8000-000000000003", name: "alice-dev", owner: "carol" },
];
const HOSTS = ["pastebin.com", "www.pastebin.com", "notpastebin.com", "github.com", "api.github.com", ""];
const PROCESSES = ["claude", "codex"];

const identity = (w: number): AgentIdentity => ({
  agentId: "", agentName: "main", workspaceId: WORKSPACES[w]!.id, workspaceName: WORKSPACES[w]!.name, ownerId: "",
  ownerName: WORKSPACES[w]!.owner, templateId: "t", templateVersionId: "v",
});

/**
 * A time in hour `min`..`max` of the span (unbiased, so every hour is as
 * likely), often on an hour's first, second or last millisecond: the edges
 * a rollup gets wrong first.
 */
function offsetArb(min: number, max: number): fc.Arbitrary<number> {
  const within = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(0, 1, HOUR - 1) },
    { weight: 1, arbitrary: fc.noBias(fc.integer({ min: 0, max: HOUR - 1 })) },
  );
  return fc.tuple(fc.noBias(fc.integer({ min, max })), within).map(([h, ms]) => h * HOUR + ms);
}

const batchArb = fc.record({
  w: fc.nat(WORKSPACES.length - 1),
  session: fc.nat(4),
  process: fc.nat(PROCESSES.length - 1),
  at: offsetArb(0, SPAN / HOUR - 1),
  // Small sequence numbers: batches of one session repeat some, which the store drops as duplicates.
  records: fc.array(fc.record({ seq: fc.nat(40), host: fc.nat(HOSTS.length - 1), allowed: fc.boolean() }), { minLength: 1, maxLength: 15 }),
});

const timeArb = offsetArb(-2, SPAN / HOUR + 2).map((t) => BASE + t);

/** Set in one case out of `oneIn` (filters combine with AND: set all at once, they match nothing). */
const opt = <T,>(arb: fc.Arbitrary<T>, oneIn = 4) =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const filterArb = fc.record({
  since: opt(timeArb, 2),
  until: opt(timeArb, 2),
  decision: opt(fc.constantFrom("allow" as const, "deny" as const)),
  host: opt(fc.constantFrom(...HOSTS.filter(Boolean))),
  domain: opt(fc.constantFrom("pastebin.com", "github.com", "com")),
  workspace: opt(fc.constantFrom("alice-dev", "alice-renamed", "bob-ws")),
  owner: opt(fc.constantFrom("alice", "carol")),
  workspaceId: opt(fc.constantFrom(WORKSPACES[0]!.id, WORKSPACES[2]!.id)),
  process: opt(fc.constantFrom(...PROCESSES)),
}).map((f): LogFilter => {
  const { since, until, ...rest } = f;
  const [a, b] = since !== undefined && until !== undefined && since > until ? [until, since] : [since, until];
  return { ...rest, since: a === undefined ? undefined : new Date(a), until: b === undefined ? undefined : new Date(b) };
});

const chartArb = fc.record({
  bucketMs: fc.constantFrom(HOUR, 2 * HOUR, DAY),
  since: timeArb,
  buckets: fc.noBias(fc.integer({ min: 1, max: 40 })),
});

const SCAN = { urlContains: "://" };

type Batch = typeof batchArb extends fc.Arbitrary<infer B> ? B : never;

async function storeBatches(store: SqliteStore, batches: Batch[]): Promise<void> {
  for (const b of batches) {
    const records: NewRecord[] = b.records.map((r) => ({
      sequenceNumber: r.seq, allowed: r.allowed, httpMethod: "GET", httpUrl: `https://${HOSTS[r.host]}/p/${r.seq}`,
      httpHost: HOSTS[r.host]!, matchedRule: "", eventTime: new Date(BASE + b.at).toISOString(),
    }));
    // Session 4 has no UUID: stored without de-duplication, like a batch with a bad session id.
    const keyed = b.session < 4;
    await store.insertBatch({
      identity: identity(b.w), sessionId: keyed ? `20000000-0000-4000-8000-00000000000${b.session}` : "", deduplicate: keyed,
      confinedProcessName: PROCESSES[b.process]!, capturedAt: new Date(BASE + b.at), records,
    });
  }
}

/** The rollup table next to the GROUP BY over records it must equal. */
function rollupAndTruth(db: SqliteDatabase): { rollup: unknown[]; truth: unknown[] } {
  const rollup = db.prepare(
    `SELECT hour, workspace_id, workspace_name, owner_name, confined_process_name, http_host, allowed, records
     FROM boundary_rollup_hourly ORDER BY 1, 2, 3, 4, 5, 6, 7`,
  ).all();
  const truth = db.prepare(
    `SELECT l.captured_at - l.captured_at % 3600000 AS hour, s.workspace_id, s.workspace_name, s.owner_name, s.confined_process_name,
            l.http_host, l.allowed, count(*) AS records
     FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7`,
  ).all();
  return { rollup, truth };
}

/** Every aggregate the rollup answers, compared with the scan. */
async function expectRollupEqualsScan(store: SqliteStore, f: LogFilter, top: { by: "domain" | "workspace"; decision: "allow" | "deny"; limit: number }, chart: { bucketMs: number; since: number; buckets: number }) {
  expect(await store.workspaceStats(f)).toEqual(await store.workspaceStats({ ...f, ...SCAN }));
  const q = { ...f, ...top, decision: f.decision ?? top.decision };
  expect(await store.top(q)).toEqual(await store.top({ ...q, ...SCAN }));
  const window = { since: new Date(chart.since), until: new Date(chart.since + chart.buckets * chart.bucketMs), bucketMs: chart.bucketMs };
  const ts = { ...f, ...window };
  expect(await store.timeseries(ts)).toEqual(await store.timeseries({ ...ts, ...SCAN }));
}

const topArb = fc.record({ by: fc.constantFrom("domain" as const, "workspace" as const), decision: fc.constantFrom("allow" as const, "deny" as const), limit: fc.integer({ min: 1, max: 8 }) });

const tmp = tempDir("br-rollup-");
afterAll(() => tmp.cleanup());
let runs = 0;

async function freshStore(): Promise<{ store: SqliteStore; db: SqliteDatabase; path: string }> {
  const path = join(tmp.dir, `r${runs++}.db`);
  const store = await SqliteStore.open(path, { synchronous: "NORMAL" });
  return { store, db: await openSqlite(path), path };
}

describe("hourly rollup", () => {
  test("answers equal a scan of the records, on random data, filters and windows, also after retention deletes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchArb, { minLength: 1, maxLength: 25 }), fc.array(fc.tuple(filterArb, topArb, chartArb), { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ cutoff: timeArb, limit: fc.integer({ min: 1, max: 60 }) }), { maxLength: 3 }),
        async (batches, queries, purges) => {
          const { store, db } = await freshStore();
          try {
            await storeBatches(store, batches);
            const before = rollupAndTruth(db);
            expect(before.rollup).toEqual(before.truth);
            for (const [f, top, chart] of queries) await expectRollupEqualsScan(store, f, top, chart);
            // Retention deletes below every consumer's cursor: let the stderr consumer take everything.
            await store.advanceCursor("stderr", await store.lastLogId());
            for (const p of purges) await store.purgeBefore(new Date(p.cutoff), p.limit);
            const after = rollupAndTruth(db);
            expect(after.rollup).toEqual(after.truth);
            for (const [f, top, chart] of queries) await expectRollupEqualsScan(store, f, top, chart);
          } finally {
            db.close();
            await store.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  test("the aggregates do read the rollup (a changed count shows), and url_contains does not", async () => {
    const { store, db } = await freshStore();
    try {
      await storeBatches(store, [{ w: 0, session: 0, process: 0, at: 5 * HOUR, records: [{ seq: 0, host: 0, allowed: false }] }]);
      const whole = { since: new Date(BASE), until: new Date(BASE + DAY) };
      expect((await store.workspaceStats(whole))[0]!.denied).toBe(1);
      db.exec("UPDATE boundary_rollup_hourly SET records = records + 41");
      expect((await store.workspaceStats(whole))[0]!.denied).toBe(42);
      expect(await store.top({ ...whole, by: "domain", decision: "deny", limit: 5 })).toEqual([{ value: "pastebin.com", count: 42 }]);
      expect((await store.timeseries({ ...whole, bucketMs: DAY }))[0]!.denied).toBe(42);
      expect((await store.workspaceStats({ ...whole, ...SCAN }))[0]!.denied).toBe(1);
      // A window whose edges cut the record's hour reads that hour from the records.
      expect((await store.workspaceStats({ since: new Date(BASE + 5 * HOUR + 1), until: new Date(BASE + DAY) }))).toEqual([]);
    } finally {
      db.close();
      await store.close();
    }
  });

  test("the migration back-fills the records stored before it", async () => {
    const source = await freshStore();
    const batches: Batch[] = Array.from({ length: 30 }, (_, i) => ({
      w: i % 4, session: i % 5, process: i % 2, at: (i * 7919 * 60_000) % SPAN, records: [{ seq: i, host: i % 6, allowed: i % 3 > 0 }, { seq: i + 1, host: (i + 1) % 6, allowed: false }],
    }));
    await storeBatches(source.store, batches);
    await source.store.close();
    source.db.close();
    // A database as the release before the rollup left it (its migrations only), holding the same records.
    const path = join(tmp.dir, `r${runs++}.db`);
    const db = await openSqlite(path);
    for (const m of MIGRATIONS.slice(0, ROLLUP_VERSION - 1)) db.exec(m);
    db.exec(`PRAGMA user_version = ${ROLLUP_VERSION - 1}; ATTACH '${source.path}' AS source;
      INSERT INTO boundary_sessions SELECT * FROM source.boundary_sessions; INSERT INTO boundary_logs SELECT * FROM source.boundary_logs;
      DETACH source`);
    const store = await SqliteStore.open(path, { synchronous: "NORMAL" });
    try {
      const { rollup, truth } = rollupAndTruth(db);
      expect(rollup.length).toBeGreaterThan(10);
      expect(rollup).toEqual(truth);
      const all = { since: new Date(BASE - DAY), until: new Date(BASE + SPAN + DAY) };
      expect(await store.workspaceStats(all)).toEqual(await store.workspaceStats({ ...all, ...SCAN }));
    } finally {
      db.close();
      await store.close();
    }
  });
});
