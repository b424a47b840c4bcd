// The query API of a real coderd: auth, every endpoint with its filters,
// bounds and paging, and 400s that name the bad parameter. The server's
// clock is set per batch so captured_at is known.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AGENT_A, AGENT_B, TestClock, batch, log, startTestServer, type TestServer } from "./helpers.ts";

const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const S1 = "10000000-0000-4000-8000-000000000001";
const S2 = "10000000-0000-4000-8000-000000000002";
const S3 = "10000000-0000-4000-8000-000000000003";
const WA = AGENT_A.entry.workspace_id;
const WB = AGENT_B.entry.workspace_id;
const iso = (ms: number) => new Date(ms).toISOString();

let t: TestServer;
const clock = new TestClock(T0);

beforeAll(async () => {
  t = await startTestServer([], { now: clock.now });
  // S1 (A): seq 0..9 at T0, one batch each minute; even = allow github.com, odd = deny pastebin.com
  for (let seq = 0; seq < 10; seq++) {
    clock.ms = T0 + seq * 60_000;
    const allowed = seq % 2 === 0;
    await t.client(AGENT_A.token).reportBoundaryLogs(
      batch([log(seq, allowed, allowed ? `https://github.com/r/${seq}` : `https://pastebin.com/p/${seq % 3}`)], S1),
    );
  }
  // S2 (B) at T0+1h: 3 denies to evil.example (same URL), 1 allow
  clock.ms = T0 + 3_600_000;
  await t.client(AGENT_B.token).reportBoundaryLogs(
    batch([log(0, false, "https://evil.example/x"), log(1, false, "https://evil.example/x"), log(2, false, "https://evil.example/x"), log(3, true, "https://ok.example/")], S2, "codex"),
  );
  // S3 (A) at T0+2h: 25 records in one batch (same captured_at: paging must break ties by id)
  clock.ms = T0 + 7_200_000;
  await t.client(AGENT_A.token).reportBoundaryLogs(batch(Array.from({ length: 25 }, (_, i) => log(i, true, `https://tie.example/${i}`)), S3));
});
afterAll(async () => {
  await t.close();
});

describe("auth", () => {
  test("no token is 401, a wrong token 401, an agent token 403, the admin token 200", async () => {
    const none = await fetch(`${t.server.url}/api/v2/boundary/logs`);
    expect(none.status).toBe(401);
    expect((await t.admin("logs", "wrong-token")).status).toBe(401);
    const agent = await t.admin("logs", AGENT_A.token);
    expect(agent.status).toBe(403);
    expect((await agent.json()).message).toContain("agent tokens");
    for (const path of ["sessions", `sessions/${S1}/logs`, "logs", "stats", "stats/top-denied"]) {
      expect((await t.admin(path, AGENT_B.token)).status).toBe(403);
      expect((await t.admin(path)).status).toBe(200);
    }
  });
});

describe("sessions", () => {
  test("newest first, filtered by workspace and time, paged by cursor", async () => {
    const all = await t.adminJson("sessions");
    expect(all.sessions.map((s: any) => s.session_id)).toEqual([S3, S2, S1]);
    expect(all.next_cursor).toBeNull();
    const s2 = all.sessions[1];
    expect(s2).toMatchObject({ workspace_id: WB, workspace_name: "bob-ws", owner_name: "bob", confined_process_name: "codex", started_at: iso(T0 + 3_600_000) });
    expect(all.sessions[2]).toMatchObject({ started_at: iso(T0), updated_at: iso(T0 + 9 * 60_000) });
    expect((await t.adminJson(`sessions?workspace_id=${WA}`)).sessions.map((s: any) => s.session_id)).toEqual([S3, S1]);
    // Sessions active in [T0+30m, T0+90m): only S2. S1 ended at T0+9m, S3 started at T0+2h.
    const windowed = await t.adminJson(`sessions?since=${iso(T0 + 1_800_000)}&until=${iso(T0 + 5_400_000)}`);
    expect(windowed.sessions.map((s: any) => s.session_id)).toEqual([S2]);
    const p1 = await t.adminJson("sessions?limit=2");
    expect(p1.sessions.map((s: any) => s.session_id)).toEqual([S3, S2]);
    const p2 = await t.adminJson(`sessions?limit=2&cursor=${p1.next_cursor}`);
    expect(p2.sessions.map((s: any) => s.session_id)).toEqual([S1]);
    expect(p2.next_cursor).toBeNull();
  });
});

describe("one session's logs", () => {
  test("in sequence order with exclusive after_seq/before_seq bounds and a limit", async () => {
    const all = (await t.adminJson(`sessions/${S1}/logs`)).logs;
    expect(all.map((r: any) => r.sequence_number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const r0 = all[0];
    for (const key of ["session_id", "sequence_number", "decision", "http_method", "http_url", "matched_rule", "event_time", "captured_at", "workspace_id", "workspace_name", "owner_name", "confined_process_name"]) {
      expect(r0).toHaveProperty(key);
    }
    expect(r0).toMatchObject({ session_id: S1, decision: "allow", http_method: "GET", http_url: "https://github.com/r/0", matched_rule: "domain=github.com", event_time: "2025-12-08T20:58:46.093Z", captured_at: iso(T0), workspace_name: "alice-dev", owner_name: "alice", confined_process_name: "claude" });
    const between = (await t.adminJson(`sessions/${S1}/logs?after_seq=2&before_seq=6`)).logs;
    expect(between.map((r: any) => r.sequence_number)).toEqual([3, 4, 5]);
    const page = await t.adminJson(`sessions/${S1}/logs?after_seq=0&limit=3`);
    expect(page.logs.map((r: any) => r.sequence_number)).toEqual([1, 2, 3]);
    expect(page.next_after_seq).toBe(3);
    expect((await t.adminJson(`sessions/${S1}/logs?after_seq=9`)).logs).toEqual([]);
    expect((await t.adminJson(`sessions/${S1}/logs?workspace_id=${WB}`)).logs).toEqual([]);
    expect((await t.adminJson(`sessions/${S1}/logs?before_seq=0`)).logs).toEqual([]);
  });
});

describe("logs", () => {
  test("filters: workspace, decision, domain, time window", async () => {
    const denyA = (await t.adminJson(`logs?workspace_id=${WA}&decision=deny`)).logs;
    expect(denyA.map((r: any) => r.sequence_number)).toEqual([9, 7, 5, 3, 1]);
    expect(denyA.every((r: any) => r.decision === "deny" && r.workspace_id === WA)).toBe(true);
    const evil = (await t.adminJson("logs?domain=EVIL.example")).logs;
    expect(evil.length).toBe(3);
    expect(evil.every((r: any) => r.domain === "evil.example" && r.workspace_name === "bob-ws")).toBe(true);
    const win = (await t.adminJson(`logs?workspace_id=${WA}&since=${iso(T0 + 120_000)}&until=${iso(T0 + 300_000)}`)).logs;
    expect(win.map((r: any) => r.sequence_number)).toEqual([4, 3, 2]); // since inclusive, until exclusive
  });

  test("newest first with a stable cursor: pages never skip or repeat, even while records arrive", async () => {
    const everything = (await t.adminJson("logs?limit=1000")).logs;
    expect(everything.length).toBe(10 + 4 + 25);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await t.adminJson(`logs?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.logs.map((r: any) => r.id));
      cursor = page.next_cursor;
      if (pages === 1) {
        // A new batch arrives between pages: it is newer, so it does not disturb the walk.
        clock.ms = T0 + 10_800_000;
        await t.client(AGENT_B.token).reportBoundaryLogs(batch([log(0, true, "https://late.example/")], "10000000-0000-4000-8000-0000000000ff"));
      }
      pages++;
    } while (cursor);
    expect(seen).toEqual(everything.map((r: any) => r.id));
    expect(pages).toBe(Math.ceil(39 / 7));
  });
});

describe("stats", () => {
  test("allowed and denied per workspace over a window", async () => {
    const until = iso(T0 + 10_000_000);
    const all = await t.adminJson(`stats?until=${until}`);
    expect(all.workspaces).toEqual(
      [
        { workspace_id: WA, workspace_name: "alice-dev", owner_name: "alice", allowed: 5 + 25, denied: 5 },
        { workspace_id: WB, workspace_name: "bob-ws", owner_name: "bob", allowed: 1, denied: 3 },
      ].sort((a, b) => a.workspace_id.localeCompare(b.workspace_id)),
    );
    const early = await t.adminJson(`stats?since=${iso(T0)}&until=${iso(T0 + 180_000)}`);
    expect(early.workspaces).toEqual([{ workspace_id: WA, workspace_name: "alice-dev", owner_name: "alice", allowed: 2, denied: 1 }]);
  });

  test("top denied domains and URLs", async () => {
    const domains = await t.adminJson("stats/top-denied?by=domain");
    expect(domains.top).toEqual([{ value: "pastebin.com", count: 5 }, { value: "evil.example", count: 3 }]);
    const urls = await t.adminJson("stats/top-denied?by=url&limit=2");
    expect(urls.top).toEqual([{ value: "https://evil.example/x", count: 3 }, { value: "https://pastebin.com/p/0", count: 2 }]);
    const since = await t.adminJson(`stats/top-denied?since=${iso(T0 + 1_800_000)}`);
    expect(since.top).toEqual([{ value: "evil.example", count: 3 }]);
  });
});

describe("bad parameters are 400 naming the parameter", () => {
  const cases: [string, string][] = [
    ["logs?limit=0", "limit"],
    ["logs?limit=1001", "limit"],
    ["logs?limit=ten", "limit"],
    ["logs?decision=maybe", "decision"],
    ["logs?since=yesterday", "since"],
    ["logs?until=2025-13-45", "until"],
    [`logs?since=${iso(T0 + 1000)}&until=${iso(T0)}`, "until"],
    ["logs?cursor=garbage", "cursor"],
    ["logs?domain=", "domain"],
    ["logs?workspace_name=x", "workspace_name"],
    ["logs?workspace_id=not-a-uuid", "workspace_id"],
    ["logs?time=wall", "time"],
    ["logs?host=a/b", "host"],
    ["sessions?workspace_id=x", "workspace_id"],
    ["sessions/not-a-session/logs", "session_id"],
    ["sessions/not-a-session", "session_id"],
    ["stats?owner=", "owner"],
    ["stats/top-allowed?by=path", "by"],
    ["stats/top-denied?decision=allow", "decision"],
    ["stats/timeseries?bucket=5m", "bucket"],
    [`stats/timeseries?bucket=1m&since=${iso(T0)}&until=${iso(T0 + 30 * 86_400_000)}`, "bucket"],
    ["export?format=xml", "format"],
    ["sessions?cursor=WzEsMl0x", "cursor"],
    [`sessions/${S1}/logs?after_seq=-5`, "after_seq"],
    [`sessions/${S1}/logs?before_seq=1.5`, "before_seq"],
    ["stats?since=2025-12-08", "since"],
    ["stats/top-denied?by=path", "by"],
    ["stats/top-denied?limit=-1", "limit"],
  ];
  for (const [path, parameter] of cases) {
    test(path, async () => {
      const res = await t.admin(path);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.parameter).toBe(parameter);
      expect(body.message).toStartWith(`${parameter}: `);
    });
  }
});
