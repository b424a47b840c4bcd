// The Store's consumer cursors (src/coderd/store/store.ts), on a real SQLite
// file: records after a cursor in commit order, cursors that only move
// forward and survive a reopen, and a purge that spares what a consumer has
// not taken and the newest record, so record ids never repeat.
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import { newRecords, openTestStore, STORE_IDENTITY } from "./helpers.ts";

const T0 = Date.parse("2025-12-08T10:00:00.000Z");

let close = async () => {};
afterEach(async () => {
  await close();
  close = async () => {};
});

let path = "";
async function open(): Promise<SqliteStore> {
  const opened = await openTestStore();
  close = opened.close;
  path = join(opened.dir, "t.db");
  return opened.store;
}

/** Closes the store and opens its file again, as a restarted coderd would. */
async function reopen(s: SqliteStore): Promise<SqliteStore> {
  await s.close();
  const again = await SqliteStore.open(path);
  close = async () => (await again.close(), rmSync(dirname(path), { recursive: true, force: true }));
  return again;
}

async function insert(s: SqliteStore, from: number, n: number, capturedAt = T0): Promise<void> {
  await s.insertBatch({ identity: STORE_IDENTITY, sessionId: "30000000-0000-4000-8000-000000000001", deduplicate: true, confinedProcessName: "c", capturedAt: new Date(capturedAt), records: newRecords(from, n, "c.example") });
}

const seqs = (rs: { sequence_number: number }[]) => rs.map((r) => r.sequence_number);

describe("consumer cursors", () => {
  test("a consumer gets the records after its cursor, oldest first; its cursor survives a reopen and never moves back", async () => {
    let s = await open();
    await insert(s, 0, 5);
    expect(seqs(await s.unconsumed("stderr", 3))).toEqual([0, 1, 2]);
    const taken = await s.unconsumed("stderr", 3);
    await s.advanceCursor("stderr", taken.at(-1)!.id);
    await insert(s, 5, 2);
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
    await s.advanceCursor("stderr", taken[0]!.id); // backwards: ignored
    s = await reopen(s);
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
    // A consumer never seen before starts at the first record; the others are not moved.
    expect(seqs(await s.unconsumed("siem", 100))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const all = await s.unconsumed("siem", 100);
    await s.advanceCursor("siem", all.at(-1)!.id);
    expect(await s.unconsumed("siem", 100)).toEqual([]);
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
  });

  test("a duplicate is not handed out again", async () => {
    const s = await open();
    await insert(s, 0, 3);
    await s.advanceCursor("stderr", (await s.unconsumed("stderr", 100)).at(-1)!.id);
    await insert(s, 1, 3); // 1 and 2 again, 3 new
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3]);
  });

  test("the purge spares records a consumer has not taken, and the newest record; ids never repeat", async () => {
    const s = await open();
    await insert(s, 0, 10);
    const cutoff = new Date(T0 + 1000);
    expect(await s.purgeBefore(cutoff, 100)).toBe(0); // nothing taken yet
    const firstSix = (await s.unconsumed("stderr", 6)).at(-1)!;
    await s.advanceCursor("stderr", firstSix.id);
    expect(await s.purgeBefore(cutoff, 100)).toBe(5); // below the cursor only
    await s.advanceCursor("stderr", (await s.unconsumed("stderr", 100)).at(-1)!.id);
    expect(await s.purgeBefore(cutoff, 100)).toBe(4); // all but the newest
    const newest = (await s.listLogs({ limit: 10 })).items;
    expect(seqs(newest)).toEqual([9]);
    await insert(s, 10, 1);
    const fresh = await s.unconsumed("stderr", 100);
    expect(seqs(fresh)).toEqual([10]);
    expect(fresh[0]!.id).toBeGreaterThan(newest[0]!.id);
  });
});
