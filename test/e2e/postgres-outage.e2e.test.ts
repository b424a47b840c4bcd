// PostgreSQL going away is an outage, not a crash (issue #14): the compiled
// coderd on a real PostgreSQL, an agent streaming records, and the database
// stopped mid-stream (a clean stop, then a crash-style immediate restart).
// While it is away /readyz is 503 naming the store and ingest answers
// unavailable (the agent keeps the records); when it returns everything
// resumes by itself: every record stored exactly once, each with its
// boundary_request line, and coderd never exits. The same holds when the
// database stays up but coderd's connections are cut one by one
// (pg_terminate_backend, as an administrator, an idle-session killer or a
// pooler's restart would): any of them, the lines' own connection
// included, mid-statement.
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { emittedCounts, keyOf, readyz } from "./harness.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";
import { explainMissingLines, feed, pgStoredCounts, pgStoredRows, startFleetAgent, startPgCoderd, writeFleetAgents } from "./pg-fleet.ts";
import { freshDatabase, PG_PASSWORD, pgCluster, postgresAvailable } from "../helpers/postgres.ts";

const SESSION = "50000000-0000-4000-8000-000000000001";
const TERMINATED_SESSION = "50000000-0000-4000-8000-000000000002";
/** Backends the cut-connections test terminates at least. */
const MIN_CUTS = 12;
const TOTAL = 6000;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!postgresAvailable())("coderd on PostgreSQL: the database or its connections go away mid-stream", () => {
  test("503 while away, then nothing lost, nothing stored twice, coderd never exits", async () => {
    const { dir, cleanup } = tempDir("br-pg-outage-");
    cleanups.push(cleanup);
    const db = await freshDatabase("outage");
    const coderd = await startPgCoderd(db, writeFleetAgents(dir, 1));
    cleanups.push(() => coderd.stop());
    const agent = await startFleetAgent(dir, 0, `http://127.0.0.1:${coderd.port}`);
    cleanups.push(() => agent.stop());
    expect((await readyz(coderd.port)).status).toBe(200);

    let outage: Promise<void> | null = null;
    await feed(agent.socket, SESSION, TOTAL, {
      pauseMs: 20,
      onProgress: async (n) => {
        if (n < TOTAL / 3 || outage) return;
        outage = (async () => {
          pgCluster().stop(); // a clean stop: the database is away
          const away = await readyz(coderd.port);
          expect(away.status).toBe(503);
          expect(JSON.parse(away.body).reason).toContain("store");
          await until(() => /batch refused with unavailable/.test(coderd.child.stderr()), { what: "ingest to answer unavailable", timeoutMs: 20_000 });
          pgCluster().start();
          await until(async () => (await readyz(coderd.port)).status === 200, { what: "/readyz to be 200 again", timeoutMs: 20_000 });
        })();
        await outage;
      },
    });
    // And a crash-style restart (immediate stop) right after the last write.
    pgCluster().restart();
    await until(async () => (await pgStoredRows(db)) >= TOTAL, { what: "every record stored", timeoutMs: 90_000, intervalMs: 500 });
    const stored = await pgStoredCounts(db);
    expect(stored.size).toBe(TOTAL);
    expect([...stored.values()].filter((n) => n !== 1)).toEqual([]);
    for (let seq = 0; seq < TOTAL; seq++) expect(stored.has(keyOf(SESSION, seq))).toBe(true);
    await until(() => emittedCounts(coderd.child.stderr()).size === TOTAL, { what: "every line printed", timeoutMs: 30_000 }).catch(async (err) => {
      console.log(await explainMissingLines(db, [coderd]));
      throw err;
    });
    expect(coderd.child.proc.exitCode).toBeNull();
    expect(coderd.child.proc.signalCode).toBeNull();
    expect(coderd.child.stderr()).not.toContain(PG_PASSWORD);
  }, 180_000);

  test("backends terminated one by one mid-stream: nothing lost, nothing stored twice, every line printed", async () => {
    const { dir, cleanup } = tempDir("br-pg-terminate-");
    cleanups.push(cleanup);
    const db = await freshDatabase("terminate");
    // Named, so that only coderd's connections are cut, not this test's.
    const coderd = await startPgCoderd(`${db}?application_name=coderd-under-test`, writeFleetAgents(dir, 1));
    cleanups.push(() => coderd.stop());
    const agent = await startFleetAgent(dir, 0, `http://127.0.0.1:${coderd.port}`);
    cleanups.push(() => agent.stop());
    const admin = postgres(pgCluster().url("postgres"), { max: 1, onnotice: () => {} });
    cleanups.push(() => admin.end({ timeout: 1 }));
    let terminated = 0;
    let feeding = true;
    const cutter = (async () => {
      // Until every record is stored, and at least MIN_CUTS times (a fast run must still cut the lines' connection).
      while (feeding || terminated < MIN_CUTS) {
        const cut = await admin.unsafe(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'coderd-under-test' AND random() < 0.5`,
        );
        terminated += cut.length;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    })();
    const total = 20_000;
    await feed(agent.socket, TERMINATED_SESSION, total, { pauseMs: 5 });
    await until(async () => (await pgStoredRows(db)) >= total, { what: "every record stored", timeoutMs: 120_000, intervalMs: 500 })
      .finally(() => (feeding = false));
    await cutter;
    expect(terminated).toBeGreaterThanOrEqual(MIN_CUTS);
    const stored = await pgStoredCounts(db);
    expect(stored.size).toBe(total);
    expect([...stored.values()].filter((n) => n !== 1)).toEqual([]);
    await until(() => emittedCounts(coderd.child.stderr()).size === total, { what: "every line printed", timeoutMs: 60_000, intervalMs: 500 }).catch(async (err) => {
      console.log(await explainMissingLines(db, [coderd]));
      throw err;
    });
    console.log(`terminated ${terminated} of coderd's backends while ${total} records went through`);
    expect(coderd.child.proc.exitCode).toBeNull();
  }, 240_000);
});
