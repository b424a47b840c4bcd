// The stderr consumer (src/coderd/line-emitter.ts) on a real SQLite store:
// lines come from what is committed, in commit order; what a previous run
// owed is written at start; a failed write keeps the cursor, so the lines
// are written again, never skipped.
import { afterEach, describe, expect, test } from "bun:test";
import { LineEmitter, type Writer } from "../../src/coderd/line-emitter.ts";
import { createCoderdMetrics } from "../../src/coderd/metrics.ts";
import type { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import { AGENT_A, newRecords, openTestStore, STORE_IDENTITY } from "./helpers.ts";
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
