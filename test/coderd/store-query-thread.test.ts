// The SQLite store's query thread (src/coderd/store/query-thread.ts,
// query-worker.ts): reads of the query API and console run on their own
// read-only connection in a worker, so the main thread (ingest) keeps
// running while a long query scans; a read sees every batch committed
// before it; closing the store ends the thread and later reads fail with a
// StoreError.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { StoreError } from "../../src/coderd/store/errors.ts";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import { openSqlite } from "../../src/runtime/adapter.ts";
import { tempDir } from "../helpers/temp.ts";
import { newRecords, STORE_IDENTITY } from "./helpers.ts";

const tmp = tempDir("br-query-thread-");
afterAll(() => tmp.cleanup());
const SCANNED = 250_000;
const QUERIES = 3;

/** A database of SCANNED records (written by SQL: fast). */
async function bigDatabase(path: string): Promise<void> {
  const seed = await SqliteStore.open(path, { synchronous: "NORMAL", queryThread: false });
  await seed.insertBatch({ identity: STORE_IDENTITY, sessionId: "", deduplicate: false, confinedProcessName: "c", capturedAt: new Date(), records: newRecords(0, 1) });
  await seed.close();
  const db = await openSqlite(path);
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${SCANNED})
    INSERT INTO boundary_logs (session_ref, dedup, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at)
    SELECT 1, 0, i, i % 2, 'GET', 'https://h' || (i % 50) || '.example/path/' || i, 'h' || (i % 50) || '.example', '', '2025-12-08T20:58:47Z', ${Date.now()} FROM n`);
  db.close();
}

/** Runs `work` while ticking a 5 ms timer on this thread; returns how long it took and the longest wait between ticks. */
async function mainThreadStall(work: () => Promise<unknown>): Promise<{ tookMs: number; longestGapMs: number }> {
  let last = performance.now();
  let longestGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 5);
  const t0 = performance.now();
  await work();
  const tookMs = performance.now() - t0;
  clearInterval(timer);
  longestGapMs = Math.max(longestGapMs, performance.now() - last);
  return { tookMs, longestGapMs };
}

// What the rollup cannot answer: every record read, and the denied ones grouped by URL (all distinct).
const slowQuery = (store: SqliteStore) => () => store.top({ by: "url", decision: "deny", limit: 5, urlContains: "/path/" });

describe("query thread", () => {
  test("a long query does not stall the main thread; on the main thread (the control) it does", async () => {
    const path = join(tmp.dir, "big.db");
    await bigDatabase(path);
    const threaded = await SqliteStore.open(path, { synchronous: "NORMAL", queryThread: true });
    const local = await SqliteStore.open(path, { synchronous: "NORMAL", queryThread: false });
    try {
      await slowQuery(threaded)(); // warm: the file in the page cache for both
      const queries = (store: SqliteStore) => async () => {
        for (let i = 0; i < QUERIES; i++) await slowQuery(store)();
      };
      const on = await mainThreadStall(queries(local));
      const off = await mainThreadStall(queries(threaded));
      const oneQueryMs = on.tookMs / QUERIES;
      console.log(`${QUERIES} queries: on the main thread ${on.tookMs.toFixed(0)} ms, longest tick gap ${on.longestGapMs.toFixed(0)} ms; ` +
        `in the query thread ${off.tookMs.toFixed(0)} ms, longest tick gap ${off.longestGapMs.toFixed(0)} ms`);
      expect(oneQueryMs).toBeGreaterThan(40);
      // On the main thread no tick runs while a query does; in the query thread ticks go on.
      expect(on.longestGapMs).toBeGreaterThan(oneQueryMs * 0.8);
      expect(off.longestGapMs).toBeLessThan(oneQueryMs / 2);
    } finally {
      await threaded.close();
      await local.close();
    }
  }, 60_000);

  test("a read sees every batch committed before it; a closed store's reads fail", async () => {
    const store = await SqliteStore.open(join(tmp.dir, "small.db"), { synchronous: "NORMAL" });
    for (let i = 0; i < 20; i++) {
      await store.insertBatch({ identity: STORE_IDENTITY, sessionId: "", deduplicate: false, confinedProcessName: "c", capturedAt: new Date(), records: newRecords(i * 3, 3) });
      expect(await store.lastLogId()).toBe((i + 1) * 3);
      expect((await store.workspaceStats({}))[0]!.denied).toBe((i + 1) * 3);
    }
    const pending = store.workspaceStats({ urlContains: "x" });
    await store.close();
    await pending.catch(() => undefined); // answered or failed, never left hanging
    const err = await store.lastLogId().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).failure).toBe("unreachable");
  });
});
