// The query API's filters, session completeness, timeseries, streamed
// export and Coder's agent-firewall routes, against a real coderd.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { csvCell } from "../../../src/coderd/query/export.ts";
import { AGENT_A, AGENT_B, TestClock, batch, log, startTestServer, type TestServer } from "../helpers.ts";

const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const GAPPY = "20000000-0000-4000-8000-000000000001";
const WHOLE = "20000000-0000-4000-8000-000000000002";
const iso = (ms: number) => new Date(ms).toISOString();
const EVENT0 = Date.parse("2025-12-01T00:00:00.000Z");

let t: TestServer;
const clock = new TestClock(T0);

beforeAll(async () => {
  t = await startTestServer([], { now: clock.now });
  // GAPPY (alice, claude): seq 0..9 and 20..24 to *.pastebin.com and github.com; 10..19 never arrive.
  const seqs = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 5 }, (_, i) => 20 + i)];
  await t.client(AGENT_A.token).reportBoundaryLogs(batch(seqs.map((s) =>
    log(s, s % 3 === 0, s % 3 === 0 ? `https://github.com/x/${s}` : s % 2 ? `https://www.pastebin.com/raw/${s}` : `https://pastebin.com/api/${s}`, EVENT0 + s * 60_000),
  ), GAPPY, "claude"));
  // WHOLE (bob, codex) an hour later: seq 0..3, one deny to notpastebin.com (not a subdomain).
  clock.ms = T0 + 3_600_000;
  await t.client(AGENT_B.token).reportBoundaryLogs(batch([
    log(0, false, "https://notpastebin.com/x"), log(1, true, "https://ok.example/"), log(2, true, "https://ok.example/a"), log(3, false, "https://pastebin.com/b"),
  ], WHOLE, "codex"));
});
afterAll(async () => {
  await t.close();
});

describe("logs filters", () => {
  test("domain= includes subdomains but not look-alikes; host= is exact", async () => {
    const domain = (await t.adminJson("logs?domain=pastebin.com&limit=1000")).logs.map((r: any) => r.domain);
    expect(new Set(domain)).toEqual(new Set(["pastebin.com", "www.pastebin.com"]));
    expect(domain.length).toBe(10);
    const host = (await t.adminJson("logs?host=www.pastebin.com&limit=1000")).logs;
    expect(host.length).toBe(4);
    expect(host.every((r: any) => r.domain === "www.pastebin.com")).toBe(true);
  });

  test("owner, workspace name, process, url_contains combine with AND", async () => {
    expect((await t.adminJson("logs?owner=bob&limit=1000")).logs.length).toBe(4);
    expect((await t.adminJson("logs?workspace=alice-dev&limit=1000")).logs.length).toBe(15);
    expect((await t.adminJson("logs?process=codex&decision=deny")).logs.map((r: any) => r.sequence_number)).toEqual([3, 0]);
    const raw = (await t.adminJson("logs?url_contains=/raw/&owner=alice&limit=1000")).logs;
    expect(raw.length).toBe(4);
    expect(raw.every((r: any) => r.http_url.includes("/raw/"))).toBe(true);
    expect((await t.adminJson(`logs?workspace_id=${AGENT_B.entry.workspace_id}&domain=ok.example`)).logs.length).toBe(2);
  });

  test("since/until on captured time by default, on event time with time=event", async () => {
    expect((await t.adminJson(`logs?since=${iso(T0 + 1)}&limit=1000`)).logs.length).toBe(4);
    // Event times of GAPPY are EVENT0 + seq minutes: [5 min, 9 min) holds seq 5..8.
    const ev = (await t.adminJson(`logs?time=event&since=${iso(EVENT0 + 5 * 60_000)}&until=${iso(EVENT0 + 9 * 60_000)}&limit=1000`)).logs;
    expect(ev.map((r: any) => r.sequence_number).sort((a: number, b: number) => a - b)).toEqual([5, 6, 7, 8]);
  });
});

describe("sessions with completeness", () => {
  test("gaps and counts per session; boundary-reported drops are not known (null)", async () => {
    const list = (await t.adminJson("sessions")).sessions;
    const gappy = list.find((s: any) => s.session_id === GAPPY);
    expect(gappy).toMatchObject({ records: 15, first_seq: 0, last_seq: 24, missing: 10, gaps: [{ from: 10, to: 19, missing: 10 }], boundary_reported_drops: null });
    const whole = list.find((s: any) => s.session_id === WHOLE);
    expect(whole).toMatchObject({ records: 4, allowed: 2, denied: 2, missing: 0, gaps: [] });
    const one = await t.adminJson(`sessions/${GAPPY}`);
    expect(one.gaps).toEqual([{ from: 10, to: 19, missing: 10 }]);
    expect((await t.admin("sessions/20000000-0000-4000-8000-0000000000ff")).status).toBe(404);
  });

  test("the README's first-page example: after_seq=-1 starts at sequence 0", async () => {
    const first = (await t.adminJson(`sessions/${GAPPY}/logs?after_seq=-1&limit=2`)).logs;
    expect(first.map((r: any) => r.sequence_number)).toEqual([0, 1]);
  });
});

describe("stats", () => {
  test("stats and top lists take the logs filters; top-allowed exists; top by workspace", async () => {
    const s = await t.adminJson("stats?domain=pastebin.com");
    expect(s.workspaces.map((w: any) => [w.workspace_name, w.allowed, w.denied])).toEqual([["alice-dev", 0, 9], ["bob-ws", 0, 1]]);
    expect((await t.adminJson("stats/top-denied?owner=bob")).top).toEqual([{ value: "notpastebin.com", count: 1 }, { value: "pastebin.com", count: 1 }]);
    expect((await t.adminJson("stats/top-allowed")).top[0]).toEqual({ value: "github.com", count: 6 });
    expect((await t.adminJson("stats/top-denied?by=workspace")).top).toEqual([{ value: "alice-dev", count: 9 }, { value: "bob-ws", count: 2 }]);
  });

  test("timeseries counts allow/deny per bucket over the window", async () => {
    const ts = await t.adminJson(`stats/timeseries?bucket=1h&since=${iso(T0)}&until=${iso(T0 + 3 * 3_600_000)}`);
    expect(ts.points).toEqual([
      { at: iso(T0), allowed: 6, denied: 9 },
      { at: iso(T0 + 3_600_000), allowed: 2, denied: 2 },
      { at: iso(T0 + 7_200_000), allowed: 0, denied: 0 },
    ]);
    const bob = await t.adminJson(`stats/timeseries?bucket=1h&owner=bob&since=${iso(T0)}&until=${iso(T0 + 2 * 3_600_000)}`);
    expect(bob.points.map((p: any) => p.allowed + p.denied)).toEqual([0, 4]);
  });
});

describe("export", () => {
  test("CSV with a header, quoting, and formula cells defused; NDJSON one object per line", async () => {
    clock.ms = T0 + 7_200_000;
    await t.client(AGENT_B.token).reportBoundaryLogs(batch([log(4, false, 'https://x/"a,b"\n=cmd')], WHOLE, "codex"));
    const csv = await t.admin("export?format=csv&owner=bob");
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect(csv.headers.get("content-disposition")).toContain(".csv");
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toStartWith("captured_at,event_time,decision,http_method,http_url,domain");
    expect(text).toContain('"https://x/""a,b""\n=cmd"');
    expect(text.trimEnd().split("\r\n").length).toBe(1 + 5); // header + bob's five records
    expect([csvCell("=HYPERLINK(1)"), csvCell("+1"), csvCell("-1"), csvCell("@x"), csvCell("plain")]).toEqual(["'=HYPERLINK(1)", "'+1", "'-1", "'@x", "plain"]);
  });

  test("an export larger than one read page streams every row once", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => log(i, i % 2 === 0, `https://bulk.example/${i}`));
    const S = "20000000-0000-4000-8000-000000000003";
    await t.client(AGENT_A.token).reportBoundaryLogs(batch(many, S));
    await t.client(AGENT_A.token).reportBoundaryLogs(batch(many.map((l) => ({ ...l, sequenceNumber: l.sequenceNumber + 1000 })), S));
    const nd = await (await t.admin("export?format=ndjson&domain=bulk.example")).text();
    const rows = nd.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(rows.length).toBe(2000);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2000);
  });
});

describe("Coder-compatible agent-firewall routes", () => {
  test("GET /api/v2/agent-firewall/sessions/{id} and …/logs with seq_after/seq_before/limit", async () => {
    const h = { Authorization: `Bearer ${"admin-token-for-tests-0001"}` };
    const base = `${t.server.url}/api/v2/agent-firewall/sessions/${GAPPY}`;
    const s = await (await fetch(base, { headers: h })).json();
    expect(s).toMatchObject({ id: GAPPY, session_id: GAPPY, missing: 10 });
    const logs = await (await fetch(`${base}/logs?seq_after=5&seq_before=22&limit=3`, { headers: h })).json();
    expect(logs.logs.map((r: any) => r.sequence_number)).toEqual([6, 7, 8]);
    const bad = await fetch(`${base}/logs?seq_after=x`, { headers: h });
    expect(bad.status).toBe(400);
    expect((await bad.json()).parameter).toBe("seq_after");
    expect((await fetch(base)).status).toBe(401);
  });
});
