// The Store's consumer cursors (src/coderd/store/store.ts), on a real SQLite
// file: records after a cursor in commit order, cursors that only move
// forward and survive a reopen, and a purge that spares what a consumer has
// not taken and the newest record, so record ids never repeat.
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import type { NewRecord } from "../../src/coderd/store/store.ts";
import { AGENT_A, tempDir } from "./helpers.ts";

const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const identity = { agentId: "", agentName: "", workspaceId: AGENT_A.entry.workspace_id, workspaceName: "w", ownerId: "", ownerName: "o", templateId: "", templateVersionId: "" };
const records = (from: number, n: number): NewRecord[] =>
  Array.from({ length: n }, (_, i) => ({ sequenceNumber: from + i, allowed: false, httpMethod: "GET", httpUrl: `https://c.example/${from + i}`, httpHost: "c.example", matchedRule: "", eventTime: "2025-12-08T10:00:00Z" }));

let dir = "";
let store: SqliteStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<SqliteStore> {
  store = await SqliteStore.open(join(dir, "c.db"));
  return store;
}

async function insert(s: SqliteStore, from: number, n: number, capturedAt = T0): Promise<void> {
  await s.insertBatch({ identity, sessionId: "30000000-0000-4000-8000-000000000001", deduplicate: true, confinedProcessName: "c", capturedAt: new Date(capturedAt), records: records(from, n) });
}

const seqs = (rs: { sequence_number: number }[]) => rs.map((r) => r.sequence_number);

describe("consumer cursors", () => {
  test("a consumer gets the records after its cursor, oldest first; its cursor survives a reopen and never moves back", async () => {
    dir = tempDir();
    let s = await open();
    await insert(s, 0, 5);
    expect(seqs(await s.unconsumed("stderr", 3))).toEqual([0, 1, 2]);
    const taken = await s.unconsumed("stderr", 3);
    await s.advanceCursor("stderr", taken.at(-1)!.id);
    await insert(s, 5, 2);
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
    await s.advanceCursor("stderr", taken[0]!.id); // backwards: ignored
    await s.close();
    s = await open();
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
    // A consumer never seen before starts at the first record; the others are not moved.
    expect(seqs(await s.unconsumed("siem", 100))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const all = await s.unconsumed("siem", 100);
    await s.advanceCursor("siem", all.at(-1)!.id);
    expect(await s.unconsumed("siem", 100)).toEqual([]);
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
  });

  test("a duplicate is not handed out again", async () => {
    dir = tempDir();
    const s = await open();
    await insert(s, 0, 3);
    await s.advanceCursor("stderr", (await s.unconsumed("stderr", 100)).at(-1)!.id);
    await insert(s, 1, 3); // 1 and 2 again, 3 new
    expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3]);
  });

  test("the purge spares records a consumer has not taken, and the newest record; ids never repeat", async () => {
    dir = tempDir();
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
