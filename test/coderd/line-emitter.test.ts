// The stderr consumer (src/coderd/line-emitter.ts) on a real SQLite store:
// lines come from what is committed, in commit order; what a previous run
// owed is written at start; a failed write keeps the cursor, so the lines
// are written again, never skipped. Lines taken from the commits in memory
// are the lines a read of the store gives, and every doubt (stderr blocked
// past the bound, a commit not described, a failed write) goes back to the
// store without losing or repeating a line.
import { afterEach, describe, expect, test } from "bun:test";
import { CursorLines, LineEmitter, lineOfStored, MAX_OFFERED, type Writer } from "../../src/coderd/line-emitter.ts";
import { createCoderdMetrics } from "../../src/coderd/metrics.ts";
import type { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import type { NewRecord, StoredRecord } from "../../src/coderd/store/store.ts";
import { formatLineRecord } from "../../src/record/emission.ts";
import { AGENT_A, AGENT_B, newRecords, openTestStore, STORE_IDENTITY } from "./helpers.ts";
import { until } from "../helpers/until.ts";

const NOW = new Date("2025-12-08T20:58:50.250Z");
const SESSION = "40000000-0000-4000-8000-000000000001";

let store: SqliteStore | undefined;
let close = async () => {};
afterEach(async () => {
  await close();
  store = undefined;
});

async function setup() {
  ({ store, close } = await openTestStore());
  const metrics = createCoderdMetrics();
  const insert = (from: number, n: number) =>
    store!.insertBatch({ identity: STORE_IDENTITY, sessionId: SESSION, deduplicate: true, confinedProcessName: "claude", capturedAt: NOW, records: newRecords(from, n, "l.example") });
  const emitter = (write: Writer) => new LineEmitter({ store: store!, format: "text", write, metrics, now: () => NOW });
  return { insert, emitter, metrics };
}

const seqsOf = (text: string) => [...text.matchAll(/ sequence_number=(\d+) /g)].map((m) => Number(m[1]));

describe("line emitter", () => {
  test("what the store holds past the cursor is written at start, then each commit's records, in commit order", async () => {
    const { insert, emitter } = await setup();
    await insert(0, 3); // stored by a run that died before printing
    const written: string[] = [];
    const lines = emitter((chunk) => void written.push(chunk));
    lines.wake();
    await lines.settled();
    expect(seqsOf(written.join(""))).toEqual([0, 1, 2]);
    for (const from of [3, 5, 7]) {
      await insert(from, 2);
      lines.wake();
    }
    await insert(4, 2); // 4 again (a duplicate) and 5 again: nothing new
    lines.wake();
    await lines.settled();
    expect(seqsOf(written.join(""))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // One write per round; the line holds the stored record and its session's identity.
    expect(written.length).toBeLessThanOrEqual(5);
    expect(written[0]!.split("\n")[0]).toBe(
      "2025-12-08 20:58:50.250 [warn] boundary_request decision=deny session_id=40000000-0000-4000-8000-000000000001 sequence_number=0 " +
        `workspace_id=${AGENT_A.entry.workspace_id} workspace_name=alice-dev owner=alice template_id=t template_version_id=v ` +
        "confined_process_name=claude http_method=GET http_url=https://l.example/0 event_time=2025-12-08T20:58:47.000000005Z",
    );
    await lines.stop();
    // A new emitter on the same store owes nothing.
    const again: string[] = [];
    const next = emitter((chunk) => void again.push(chunk));
    next.wake();
    await next.settled();
    expect(again).toEqual([]);
  });

  test("a failed write keeps the cursor: the same lines are written again, and counted", async () => {
    const { insert, emitter, metrics } = await setup();
    await insert(0, 2);
    const attempts: string[] = [];
    let fail = true;
    const lines = emitter(async (chunk) => {
      attempts.push(chunk);
      if (fail) throw new Error("EPIPE");
    });
    lines.wake();
    await lines.settled();
    expect(attempts.length).toBe(1);
    expect((await metrics.lineWriteFailures.get()).values[0]!.value).toBe(1);
    expect(seqsOf((await store!.unconsumed("stderr", 10)).map((r) => ` sequence_number=${r.sequence_number} `).join(""))).toEqual([0, 1]);
    fail = false;
    await until(() => attempts.length === 2, { what: "the retry", timeoutMs: 10_000 });
    await lines.settled();
    expect(attempts[1]).toBe(attempts[0]);
    expect(await store!.unconsumed("stderr", 10)).toEqual([]);
    await lines.stop();
  });
});

describe("lines from the commits in memory", () => {
  const OTHER_SESSION = "40000000-0000-4000-8000-000000000002";
  const OTHER_IDENTITY = { ...STORE_IDENTITY, agentName: "b", workspaceName: "renamed", ownerName: "bob" };

  /** Counts the emitter's reads of the store. */
  function countReads(s: SqliteStore): { reads: number } {
    const counter = { reads: 0 };
    const read = s.unconsumed.bind(s);
    s.unconsumed = (consumer, limit) => (consumer === "stderr" && counter.reads++, read(consumer, limit));
    return counter;
  }

  /** Every line the store's records give, read back in full under a consumer of their own. */
  async function linesReadBack(s: SqliteStore): Promise<string> {
    const written: string[] = [];
    const check = new CursorLines<StoredRecord>({
      source: {
        unconsumed: (limit) => s.unconsumed("check", limit),
        advance: (lastId) => s.advanceCursor("check", lastId),
        line: (r, now) => formatLineRecord("text", lineOfStored(r), now),
      },
      write: (chunk) => void written.push(chunk),
      counters: createCoderdMetrics(),
      now: () => NOW,
    });
    check.wake();
    await check.settled();
    await check.stop();
    return written.join("");
  }

  const allowed = (from: number, n: number): NewRecord[] =>
    newRecords(from, n, "a.example").map((r) => ({ ...r, allowed: true, matchedRule: "domain=a.example" }));

  test("equal the lines read back from the store, across sessions, identities, duplicates and unkeyed batches; the store is read once, at start", async () => {
    const { emitter } = await setup();
    const reads = countReads(store!);
    const written: string[] = [];
    const lines = emitter((chunk) => void written.push(chunk));
    lines.wake();
    await lines.settled();
    const put = async (sessionId: string, identity: typeof STORE_IDENTITY, records: NewRecord[], process = "claude") => {
      await store!.insertBatch({ identity, sessionId, deduplicate: sessionId !== "", confinedProcessName: process, capturedAt: NOW, records });
      lines.wake();
    };
    for (let i = 0; i < 12; i++) {
      await put(SESSION, STORE_IDENTITY, [...newRecords(i * 10, 10, "d.example"), ...allowed(i * 10 + 5, 10)]); // overlaps itself: duplicates
      // The same session id sent later with another identity and process keeps the identity it was stored with.
      await put(OTHER_SESSION, i % 2 ? OTHER_IDENTITY : STORE_IDENTITY, newRecords(i * 3, 3, "o.example"), i % 2 ? "codex" : "claude");
      await put("", STORE_IDENTITY, newRecords(0, 2, "u.example")); // unkeyed: stored every time
    }
    await lines.settled();
    const fromMemory = written.join("");
    // Sequence numbers 0…124 once in SESSION, 0…35 in OTHER_SESSION, 2 per unkeyed batch.
    expect(fromMemory.split("\n").length - 1).toBe(125 + 36 + 12 * 2);
    expect(fromMemory).toBe(await linesReadBack(store!));
    expect(fromMemory).not.toContain("owner=bob");
    expect(reads.reads).toBe(1);
    await lines.stop();
  });

  test("stderr blocked past MAX_OFFERED: the lines come from the store again, each once, in order", async () => {
    const { insert, emitter } = await setup();
    const reads = countReads(store!);
    let release = () => {};
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const written: string[] = [];
    const lines = emitter(async (chunk) => {
      await blocked;
      written.push(chunk);
    });
    lines.wake();
    await lines.settled();
    const total = MAX_OFFERED + 2500;
    await insert(0, 1); // its write blocks; the rest arrives meanwhile
    lines.wake();
    for (let from = 1; from < total; from += 500) {
      await insert(from, Math.min(500, total - from));
      lines.wake();
    }
    release();
    await until(() => seqsOf(written.join("")).length >= total, { what: "every line", timeoutMs: 10_000 });
    await lines.settled();
    expect(seqsOf(written.join(""))).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(reads.reads).toBeGreaterThan(2);
    await lines.stop();
  });

  test("a commit not described (null) and a failed write in memory both go back to the store: nothing lost, nothing repeated", async () => {
    const { insert } = await setup();
    const reads = countReads(store!);
    const written: string[] = [];
    let failNext = false;
    let commits = 0;
    const lines = new CursorLines<StoredRecord>({
      source: {
        unconsumed: (limit) => store!.unconsumed("stderr", limit),
        advance: (lastId) => store!.advanceCursor("stderr", lastId),
        line: (r, now) => formatLineRecord("text", lineOfStored(r), now),
      },
      write: (chunk) => {
        if (failNext) {
          failNext = false;
          throw new Error("EPIPE");
        }
        written.push(chunk);
      },
      counters: createCoderdMetrics(),
      now: () => NOW,
      // Every third commit arrives undescribed, as when RETURNING could not be matched.
      subscribe: (offer) => store!.onCommitted((records) => offer(++commits % 3 === 0 ? null : records)),
    });
    lines.wake();
    await lines.settled();
    for (let i = 0; i < 30; i++) {
      if (i === 20) failNext = true;
      await insert(i * 4, 4);
      lines.wake();
      await lines.settled();
    }
    await until(() => seqsOf(written.join("")).length >= 120, { what: "the retry after the failed write", timeoutMs: 10_000 });
    await lines.settled();
    expect(seqsOf(written.join(""))).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(reads.reads).toBeGreaterThan(10);
    expect(reads.reads).toBeLessThan(30);
    await lines.stop();
  });
});

