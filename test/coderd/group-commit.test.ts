// Group commit in the SQLite store (src/coderd/store/group-commit.ts): batches
// that arrive together share one transaction, each resolves only once its
// rows are committed (seen by another connection to the file), and a batch
// that fails is refused alone.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openSqlite, type SqliteDatabase } from "../../src/runtime/adapter.ts";
import type { NewBatch } from "../../src/coderd/store/store.ts";
import { StoreError } from "../../src/coderd/store/errors.ts";
import { newRecords, openTestStore, STORE_IDENTITY } from "./helpers.ts";

let cleanup = async () => {};
afterEach(async () => {
  await cleanup();
  cleanup = async () => {};
});

const sessionId = (i: number) => `40000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

function batchOf(i: number, records = 10): NewBatch {
  return {
    identity: STORE_IDENTITY, sessionId: sessionId(i), deduplicate: true, confinedProcessName: "c",
    capturedAt: new Date(1765227526093), records: newRecords(0, records, `h${i}.example`),
  };
}

/** Rows another connection sees for a session: only committed rows are visible to it. */
function committedRows(other: SqliteDatabase, session: string): number {
  const row = other
    .prepare("SELECT count(*) AS n FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref WHERE s.session_id = ?")
    .get<{ n: number }>(session);
  return Number(row?.n ?? 0);
}

async function open() {
  const opened = await openTestStore();
  const other = await openSqlite(join(opened.dir, "t.db"));
  cleanup = async () => (other.close(), await opened.close());
  return { store: opened.store, other };
}

describe("group commit", () => {
  test("40 batches submitted together go out in far fewer transactions, each acknowledged only once its rows are committed", async () => {
    const { store, other } = await open();
    const before = store.writes.stats.transactions;
    const visibleAtAck: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.insertBatch(batchOf(i)).then((result) => {
          expect(result.stored.length).toBe(10);
          visibleAtAck.push(committedRows(other, sessionId(i)));
        })),
    );
    const transactions = store.writes.stats.transactions - before;
    expect(transactions).toBeGreaterThanOrEqual(1);
    expect(transactions).toBeLessThanOrEqual(2);
    expect(visibleAtAck).toEqual(Array(40).fill(10));
  });

  test("a duplicate across two batches of the same transaction is stored once", async () => {
    const { store } = await open();
    const [a, b] = await Promise.all([store.insertBatch(batchOf(1, 5)), store.insertBatch(batchOf(1, 8))]);
    expect(a.stored.length + b.stored.length).toBe(8);
    expect(a.duplicates + b.duplicates).toBe(5);
  });

  test("a batch that fails inside the group is refused alone; the others commit", async () => {
    const { store, other } = await open();
    // A record whose URL is not text fails its INSERT (a NOT NULL column).
    const bad = batchOf(2);
    bad.records[3] = { ...bad.records[3]!, httpUrl: null as unknown as string };
    const results = await Promise.allSettled([store.insertBatch(batchOf(1)), store.insertBatch(bad), store.insertBatch(batchOf(3))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
    expect([1, 2, 3].map((i) => committedRows(other, sessionId(i)))).toEqual([10, 0, 10]);
  });

  test("close() commits what is still queued before the file closes", async () => {
    const { store, other } = await open();
    const pending = store.insertBatch(batchOf(7));
    await store.close();
    await expect(pending).resolves.toMatchObject({ duplicates: 0 });
    expect(committedRows(other, sessionId(7))).toBe(10);
  });
});

describe("writer thread", () => {
  test("a writer thread that ends fails the writes waiting on it and every later one, and ping says so", async () => {
    const { store } = await open();
    await store.insertBatch(batchOf(1));
    const waiting = store.insertBatch(batchOf(2));
    (store as unknown as { writer: { kill(): void } }).writer.kill();
    await expect(waiting).rejects.toBeInstanceOf(StoreError);
    await expect(store.insertBatch(batchOf(3))).rejects.toMatchObject({ failure: "unreachable" });
    await expect(store.ping()).rejects.toMatchObject({ failure: "unreachable" });
  });
});
