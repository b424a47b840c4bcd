// The Store contract (src/coderd/store/store.ts), one suite run against
// every store: sqlite.contract.test.ts and postgres.contract.test.ts each
// call storeContract with a way to make a fresh, empty store location. What
// is asserted here is what callers rely on, whatever the engine: rows once
// per (session, sequence), sessions made lazily, the query API's filters,
// aggregates and completeness, consumers that get every record at least
// once, and a purge that spares what a consumer has not taken.
import { afterEach, describe, expect, test } from "bun:test";
import type { NewBatch, NewRecord, Store } from "../../../src/coderd/store/store.ts";
import type { AgentIdentity } from "../../../src/record/identity.ts";
import { PG_TEST_TIMEOUT_MS } from "../../helpers/postgres.ts";

/** A fresh store location: `open` opens it (again, after a close, as a restarted coderd would). */
export interface StoreLocation {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const S1 = "40000000-0000-4000-8000-000000000001";
const S2 = "40000000-0000-4000-8000-000000000002";

export const ALICE: AgentIdentity = {
  agentId: "a1", agentName: "main", workspaceId: "0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f", workspaceName: "alice-dev",
  ownerId: "o1", ownerName: "alice", templateId: "t1", templateVersionId: "v1",
};
export const BOB: AgentIdentity = {
  agentId: "b1", agentName: "main", workspaceId: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", workspaceName: "bob-ws",
  ownerId: "o2", ownerName: "bob", templateId: "t2", templateVersionId: "v2",
};

function rec(seq: number, allowed: boolean, url: string, eventMs = T0 + seq * 1000): NewRecord {
  const host = new URL(url).hostname.toLowerCase();
  return {
    sequenceNumber: seq, allowed, httpMethod: "GET", httpUrl: url, httpHost: host, matchedRule: allowed ? "domain=*" : "",
    eventTime: new Date(eventMs).toISOString().replace("Z", "000005Z"),
  };
}

function batch(records: NewRecord[], opts: Partial<NewBatch> = {}): NewBatch {
  return { identity: ALICE, sessionId: S1, deduplicate: true, confinedProcessName: "claude", capturedAt: new Date(T0), records, ...opts };
}

const seqs = (rs: { sequence_number: number }[]) => rs.map((r) => r.sequence_number);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

export function storeContract(name: string, fresh: () => Promise<StoreLocation>): void {
  describe(`Store contract: ${name}`, () => {
    let location: StoreLocation | null = null;
    let opened: Store[] = [];
    afterEach(async () => {
      for (const s of opened) await s.close().catch(() => {});
      opened = [];
      await location?.cleanup();
      location = null;
    }, PG_TEST_TIMEOUT_MS);
    async function open(): Promise<Store> {
      location ??= await fresh();
      const s = await location.open();
      opened.push(s);
      return s;
    }

    test("a batch sent twice is stored once; a sequence number repeated within a batch counts once", async () => {
      const s = await open();
      const b = batch(range(0, 3).map((i) => rec(i, false, `https://x.example/${i}`)));
      expect(await s.insertBatch(b)).toEqual({ stored: [0, 1, 2], duplicates: 0 });
      expect(await s.insertBatch(b)).toEqual({ stored: [], duplicates: 3 });
      const mixed = batch([rec(2, false, "https://x.example/2"), rec(3, true, "https://y.example/"), rec(3, true, "https://y.example/")]);
      expect(await s.insertBatch(mixed)).toEqual({ stored: [1], duplicates: 2 });
      expect(seqs(await s.sessionLogs({ sessionId: S1, limit: 100 }))).toEqual([0, 1, 2, 3]);
      // The same session id in another workspace is another session.
      expect((await s.insertBatch({ ...b, identity: BOB })).stored).toEqual([0, 1, 2]);
    }, PG_TEST_TIMEOUT_MS);

    test("a batch without a UUID session is stored as it comes, not de-duplicated, not listed as a session", async () => {
      const s = await open();
      const b = batch([rec(0, false, "https://x.example/a"), rec(0, false, "https://x.example/a")], { sessionId: "not-a-uuid", deduplicate: false });
      expect(await s.insertBatch(b)).toEqual({ stored: [0, 1], duplicates: 0 });
      expect((await s.insertBatch(b)).stored).toEqual([0, 1]);
      expect((await s.listLogs({ limit: 10 })).items.length).toBe(4);
      expect((await s.listSessions({ limit: 10 })).items).toEqual([]);
    }, PG_TEST_TIMEOUT_MS);

    test("sessions are made lazily with the identity; pages newest first; session logs with exclusive bounds", async () => {
      const s = await open();
      expect((await s.listSessions({ limit: 10 })).items).toEqual([]);
      await s.insertBatch(batch(range(0, 6).map((i) => rec(i, i % 2 === 0, `https://x.example/${i}`))));
      await s.insertBatch(batch([rec(0, true, "https://b.example/")], { identity: BOB, sessionId: S2, confinedProcessName: "codex", capturedAt: new Date(T0 + 5000) }));
      const first = await s.listSessions({ limit: 1 });
      expect(first.items.map((x) => [x.session_id, x.workspace_name, x.owner_name, x.confined_process_name])).toEqual([[S2, "bob-ws", "bob", "codex"]]);
      expect(first.items[0]!.started_at).toBe(new Date(T0 + 5000).toISOString());
      expect(first.next).not.toBeNull();
      const second = await s.listSessions({ limit: 1, after: first.next! });
      expect(second.items.map((x) => x.session_id)).toEqual([S1]);
      expect(second.items[0]!.template_version_id).toBe("v1");
      expect((await s.listSessions({ limit: 10, workspaceId: BOB.workspaceId })).items.length).toBe(1);
      expect(seqs(await s.sessionLogs({ sessionId: S1, afterSeq: 1, beforeSeq: 5, limit: 100 }))).toEqual([2, 3, 4]);
      expect(seqs(await s.sessionLogs({ sessionId: S1, afterSeq: -1, limit: 2 }))).toEqual([0, 1]);
      expect(await s.sessionLogs({ sessionId: S1, workspaceId: BOB.workspaceId, limit: 10 })).toEqual([]);
      const r = (await s.sessionLogs({ sessionId: S1, afterSeq: 1, limit: 1 }))[0]!;
      expect(r).toMatchObject({
        session_id: S1, sequence_number: 2, decision: "allow", http_method: "GET", http_url: "https://x.example/2",
        domain: "x.example", matched_rule: "domain=*", workspace_id: ALICE.workspaceId, owner_name: "alice",
        captured_at: new Date(T0).toISOString(), event_time: new Date(T0 + 2000).toISOString().replace("Z", "000005Z"),
      });
    }, PG_TEST_TIMEOUT_MS);

    test("searches filter by domain (and subdomains), host, owner, workspace, process, decision, url text and time, paging newest first", async () => {
      const s = await open();
      await s.insertBatch(batch([
        rec(0, false, "https://pastebin.com/a"), rec(1, false, "https://www.pastebin.com/raw/1"), rec(2, true, "https://github.com/x"),
        rec(3, false, "https://notpastebin.com/x"),
      ]));
      await s.insertBatch(batch([rec(0, true, "https://ok.example/raw/z")], { identity: BOB, sessionId: S2, confinedProcessName: "codex", capturedAt: new Date(T0 + 60_000) }));
      const search = async (f: Record<string, unknown>) => seqs((await s.searchLogs({ limit: 100, ...f })).items);
      expect((await s.searchLogs({ limit: 100, domain: "pastebin.com" })).items.map((r) => r.domain).sort()).toEqual(["pastebin.com", "www.pastebin.com"]);
      expect(await search({ host: "www.pastebin.com" })).toEqual([1]);
      expect(await search({ owner: "bob" })).toEqual([0]);
      expect(await search({ workspace: "alice-dev", decision: "deny" })).toEqual([3, 1, 0]);
      expect(await search({ process: "codex" })).toEqual([0]);
      expect(await search({ urlContains: "/raw/" })).toEqual([0, 1]);
      expect(await search({ workspaceId: ALICE.workspaceId, urlContains: "/raw/" })).toEqual([1]);
      expect(await search({ since: new Date(T0 + 1) })).toEqual([0]);
      expect(await search({ until: new Date(T0 + 1) })).toEqual([3, 2, 1, 0]);
      expect(await search({ timeField: "event", since: new Date(T0 + 2000), until: new Date(T0 + 4000) })).toEqual([3, 2]);
      const page1 = await s.searchLogs({ limit: 2 });
      const page2 = await s.searchLogs({ limit: 10, after: page1.next! });
      expect([...seqs(page1.items), ...seqs(page2.items)]).toEqual([0, 3, 2, 1, 0]);
      expect(page2.next).toBeNull();
      const listed = await s.listLogs({ limit: 10, decision: "allow", domain: "GitHub.com" });
      expect(seqs(listed.items)).toEqual([2]);
      const last = await s.lastLogId();
      expect(last).toBe(Math.max(...(await s.searchLogs({ limit: 100 })).items.map((r) => r.id)));
      const after = await s.logsAfterId({ decision: "deny" }, 0, 100);
      expect(seqs(after)).toEqual([0, 1, 3]);
      expect(await s.logsAfterId({}, last, 10)).toEqual([]);
    }, PG_TEST_TIMEOUT_MS);

    test("stats, top lists, top denied and the time series count alike", async () => {
      const s = await open();
      await s.insertBatch(batch([
        rec(0, false, "https://evil.example/1"), rec(1, false, "https://evil.example/2"), rec(2, true, "https://ok.example/"),
      ]));
      await s.insertBatch(batch([rec(0, false, "https://evil.example/1")], { identity: BOB, sessionId: S2, capturedAt: new Date(T0 + 120_000) }));
      expect(await s.stats({})).toEqual([
        { workspace_id: ALICE.workspaceId, workspace_name: "alice-dev", owner_name: "alice", allowed: 1, denied: 2 },
        { workspace_id: BOB.workspaceId, workspace_name: "bob-ws", owner_name: "bob", allowed: 0, denied: 1 },
      ].sort((a, b) => a.workspace_id.localeCompare(b.workspace_id)));
      expect(await s.workspaceStats({ owner: "bob" })).toEqual([{ workspace_id: BOB.workspaceId, workspace_name: "bob-ws", owner_name: "bob", allowed: 0, denied: 1 }]);
      expect(await s.topDenied({ by: "domain", limit: 5 })).toEqual([{ value: "evil.example", count: 3 }]);
      expect(await s.topDenied({ by: "url", limit: 1 })).toEqual([{ value: "https://evil.example/1", count: 2 }]);
      expect(await s.top({ by: "workspace", decision: "deny", limit: 5 })).toEqual([{ value: "alice-dev", count: 2 }, { value: "bob-ws", count: 1 }]);
      expect(await s.top({ by: "domain", decision: "allow", limit: 5 })).toEqual([{ value: "ok.example", count: 1 }]);
      const series = await s.timeseries({ since: new Date(T0), until: new Date(T0 + 180_000), bucketMs: 60_000 });
      expect(series).toEqual([
        { at: T0, allowed: 1, denied: 2 }, { at: T0 + 60_000, allowed: 0, denied: 0 }, { at: T0 + 120_000, allowed: 0, denied: 1 },
      ]);
      const byEvent = await s.timeseries({ since: new Date(T0), until: new Date(T0 + 4000), bucketMs: 2000, timeField: "event" });
      expect(byEvent).toEqual([{ at: T0, allowed: 0, denied: 3 }, { at: T0 + 2000, allowed: 1, denied: 0 }]);
    }, PG_TEST_TIMEOUT_MS);

    test("session completeness: counts, first/last, gaps as runs; agents last seen", async () => {
      const s = await open();
      await s.insertBatch(batch([...range(0, 3), ...range(6, 2), 10].map((i) => rec(i, i === 0, `https://x.example/${i}`))));
      const one = (await s.sessionSummary(S1))!;
      expect(one).toMatchObject({ records: 6, allowed: 1, denied: 5, first_seq: 0, last_seq: 10, missing: 5, boundary_reported_drops: null });
      expect(one.gaps).toEqual([{ from: 3, to: 5, missing: 3 }, { from: 8, to: 9, missing: 2 }]);
      expect(await s.sessionSummary(S1, BOB.workspaceId)).toBeNull();
      expect(await s.sessionSummary(S2)).toBeNull();
      const listed = await s.sessionSummaries({ limit: 10 });
      expect(listed.items.map((x) => [x.session_id, x.missing])).toEqual([[S1, 5]]);
      const seen = await s.agentsLastSeen(10);
      expect(seen).toEqual([{ agent_id: "a1", agent_name: "main", workspace_id: ALICE.workspaceId, workspace_name: "alice-dev", owner_name: "alice", last_seen: new Date(T0).toISOString() }]);
    }, PG_TEST_TIMEOUT_MS);

    test("a consumer gets every record at least once, oldest first; what it has advanced past is not handed out again, even after a reopen", async () => {
      let s = await open();
      await s.insertBatch(batch(range(0, 5).map((i) => rec(i, false, `https://x.example/${i}`))));
      expect(seqs(await s.unconsumed("stderr", 3))).toEqual([0, 1, 2]);
      const taken = await s.unconsumed("stderr", 3); // not advanced: the same again
      expect(seqs(taken)).toEqual([0, 1, 2]);
      await s.advanceCursor("stderr", taken.at(-1)!.id);
      await s.insertBatch(batch(range(3, 4).map((i) => rec(i, false, `https://x.example/${i}`)))); // 3, 4 again; 5, 6 new
      expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
      await s.advanceCursor("stderr", taken[0]!.id); // backwards: changes nothing
      await s.close();
      s = await open();
      expect(seqs(await s.unconsumed("stderr", 100))).toEqual([3, 4, 5, 6]);
      // A consumer never seen before starts at the first record; others are not moved.
      const all = await s.unconsumed("siem", 100);
      expect(seqs(all)).toEqual(range(0, 7));
      await s.advanceCursor("siem", all.at(-1)!.id);
      expect(await s.unconsumed("siem", 100)).toEqual([]);
      const rest = await s.unconsumed("stderr", 100);
      expect(seqs(rest)).toEqual([3, 4, 5, 6]);
      await s.advanceCursor("stderr", rest.at(-1)!.id);
      expect(await s.unconsumed("stderr", 100)).toEqual([]);
    }, PG_TEST_TIMEOUT_MS);

    test("the purge deletes old records consumers took, spares the rest and the newest; idle sessions go with their records", async () => {
      const s = await open();
      await s.insertBatch(batch(range(0, 10).map((i) => rec(i, false, `https://x.example/${i}`))));
      await s.insertBatch(batch([rec(0, false, "https://new.example/")], { sessionId: S2, capturedAt: new Date(T0 + 10_000) }));
      const cutoff = new Date(T0 + 1000);
      expect(await s.purgeBefore(cutoff, 100)).toBe(0); // nothing taken yet
      const six = await s.unconsumed("stderr", 6);
      await s.advanceCursor("stderr", six.at(-1)!.id);
      const purged = await s.purgeBefore(cutoff, 100);
      expect(purged).toBeGreaterThanOrEqual(5);
      expect(purged).toBeLessThanOrEqual(6);
      // Every record not taken is still there.
      expect(seqs(await s.sessionLogs({ sessionId: S1, afterSeq: 5, limit: 100 }))).toEqual([6, 7, 8, 9]);
      const rest = await s.unconsumed("stderr", 100);
      expect(seqs(rest)).toEqual([6, 7, 8, 9, 0]);
      await s.advanceCursor("stderr", rest.at(-1)!.id);
      // Bounded statements: at most `limit` per call.
      expect(await s.purgeBefore(cutoff, 2)).toBe(2);
      await s.purgeBefore(cutoff, 100);
      expect(await s.sessionLogs({ sessionId: S1, limit: 100 })).toEqual([]);
      expect(await s.sessionSummary(S1)).toBeNull(); // idle since the cutoff, no records left
      expect(seqs(await s.sessionLogs({ sessionId: S2, limit: 100 }))).toEqual([0]);
      const newest = (await s.searchLogs({ limit: 10 })).items;
      await s.insertBatch(batch([rec(1, false, "https://new.example/1")], { sessionId: S2, capturedAt: new Date(T0 + 11_000) }));
      expect((await s.unconsumed("stderr", 10))[0]!.id).toBeGreaterThan(newest[0]!.id);
    }, PG_TEST_TIMEOUT_MS);

    test("ping answers while the store serves", async () => {
      const s = await open();
      await s.ping();
    }, PG_TEST_TIMEOUT_MS);
  });
}
