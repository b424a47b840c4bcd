// The ingest RPC against a real coderd over HTTP with a real SQLite file:
// auth, the batch limit, the body limit, de-duplication, cross-workspace
// attempts and batches without a session id. Each test has its own coderd
// and database, so none depends on what another stored or counted.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { toBinary } from "@bufbuild/protobuf";
import { ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { AGENT_A, AGENT_B, SESSION, batch, log, startTestServer, type TestServer } from "./helpers.ts";
import { readMetric } from "../helpers/metrics.ts";

const RPC = "/boundaryrelay.v1.IngestService/ReportBoundaryLogs";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer(["--max-body-bytes", "256KiB"]);
});
afterEach(async () => {
  await t.close();
});

async function count(query = ""): Promise<number> {
  return (await t.adminJson(`logs?limit=1000${query}`)).logs.length;
}

describe("authentication", () => {
  test("no token, unknown token and a malformed header are unauthenticated and write nothing", async () => {
    const req = batch([log(0, false, "https://evil.example/")], "11111111-1111-4111-8111-111111111111");
    expect(await codeOf(t.client(null).reportBoundaryLogs(req))).toBe(Code.Unauthenticated);
    expect(await codeOf(t.client("not-a-known-token-123").reportBoundaryLogs(req))).toBe(Code.Unauthenticated);
    const basic = await fetch(`${t.server.url}${RPC}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Basic ${btoa("a:b")}` },
      body: "{}",
    });
    expect(basic.status).toBe(401);
    expect((await basic.json()).code).toBe("unauthenticated");
    // The admin token is not an agent token.
    expect(await codeOf(t.client("admin-token-for-tests-0001").reportBoundaryLogs(req))).toBe(Code.Unauthenticated);
    expect(await count("&workspace_id=" + AGENT_A.entry.workspace_id + "&domain=evil.example")).toBe(0);
    expect(t.lines().filter((l) => l.includes("evil.example"))).toEqual([]);
    expect(await readMetric(t.server.url, "coderd_boundary_rpcs_total", { code: "unauthenticated" })).toBe(4);
  });

  test("Coder-Session-Token is accepted like a bearer token, JSON and proto alike", async () => {
    const req = batch([log(0, true, "https://session-token.example/")], "22222222-2222-4222-8222-222222222222");
    const res = await fetch(`${t.server.url}${RPC}`, {
      method: "POST",
      headers: { "Content-Type": "application/proto", "Coder-Session-Token": AGENT_A.token },
      body: toBinary(ReportBoundaryLogsRequestSchema, req),
    });
    expect(res.status).toBe(200);
    const json = await fetch(`${t.server.url}${RPC}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Coder-Session-Token": AGENT_A.token },
      body: JSON.stringify({ sessionId: "22222222-2222-4222-8222-222222222222", logs: [{ allowed: true, sequenceNumber: 1, httpRequest: { method: "GET", url: "https://session-token.example/2" } }] }),
    });
    expect(json.status).toBe(200);
    expect(await count("&domain=session-token.example")).toBe(2);
  });
});

describe("limits", () => {
  test("1000 records are accepted, 1001 are invalid_argument and store nothing", async () => {
    const make = (n: number, session: string) =>
      batch(Array.from({ length: n }, (_, i) => log(i, true, `https://limit${n}.example/${i}`)), session);
    expect(await codeOf(t.client().reportBoundaryLogs(make(1000, "33333333-3333-4333-8333-333333333333")))).toBe("ok");
    const err = await t.client().reportBoundaryLogs(make(1001, "44444444-4444-4444-8444-444444444444")).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("1001");
    expect(await count("&domain=limit1000.example")).toBe(1000);
    expect(await count("&domain=limit1001.example")).toBe(0);
  });

  test("a body over --max-body-bytes is refused with resource_exhausted, by Content-Length or while streaming", async () => {
    const big = JSON.stringify({ sessionId: SESSION, logs: [{ httpRequest: { url: `https://big.example/${"x".repeat(300_000)}` } }] });
    const declared = await fetch(`${t.server.url}${RPC}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${AGENT_A.token}` },
      body: big,
    });
    expect(declared.status).toBe(429);
    expect((await declared.json()).code).toBe("resource_exhausted");
    const bytes = new TextEncoder().encode(big);
    const streamed = await fetch(`${t.server.url}${RPC}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${AGENT_A.token}` },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < bytes.length; i += 8192) c.enqueue(bytes.subarray(i, i + 8192));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect((await streamed.json()).code).toBe("resource_exhausted");
    expect(await count("&domain=big.example")).toBe(0);
  });

  test("an empty request is accepted and does nothing", async () => {
    const before = t.writes.length;
    expect(await codeOf(t.client().reportBoundaryLogs(batch([], "")))).toBe("ok");
    expect(t.writes.length).toBe(before);
  });
});

describe("exactly once", () => {
  test("a replayed batch stores and emits nothing twice; duplicates are counted", async () => {
    const session = "55555555-5555-4555-8555-555555555555";
    const req = batch([log(0, true, "https://dedup.example/0"), log(1, false, "https://dedup.example/1")], session);
    const dupBefore = await readMetric(t.server.url, "coderd_boundary_records_duplicate_total");
    await t.client().reportBoundaryLogs(req);
    await t.client(AGENT_A.token, false).reportBoundaryLogs(req); // the same batch again, as JSON
    // A retry that overlaps: seq 1 again plus a new seq 2.
    await t.client().reportBoundaryLogs(batch([log(1, false, "https://dedup.example/1"), log(2, true, "https://dedup.example/2")], session));
    const stored = (await t.adminJson(`sessions/${session}/logs`)).logs;
    expect(stored.map((r: any) => r.sequence_number)).toEqual([0, 1, 2]);
    expect(t.lines().filter((l) => l.includes("dedup.example")).length).toBe(3);
    expect(await readMetric(t.server.url, "coderd_boundary_records_duplicate_total")).toBe(dupBefore + 3);
  });

  test("a batch without a valid UUID session_id is stored and emitted every time, and counted", async () => {
    const before = await readMetric(t.server.url, "coderd_boundary_batches_without_session_id_total");
    for (const sessionId of ["", "not-a-uuid"]) {
      const req = batch([log(0, false, "https://nosession.example/")], sessionId);
      await t.client().reportBoundaryLogs(req);
      await t.client().reportBoundaryLogs(req);
    }
    expect(await count("&domain=nosession.example")).toBe(4);
    expect(t.lines().filter((l) => l.includes("nosession.example")).length).toBe(4);
    expect(await readMetric(t.server.url, "coderd_boundary_batches_without_session_id_total")).toBe(before + 4);
    // Stored, but not a session: the session routes take UUIDs only and say so (issue #11).
    const bySession = await t.admin("sessions/not-a-uuid/logs");
    expect(bySession.status).toBe(400);
    expect((await bySession.json()).parameter).toBe("session_id");
  });
});

describe("workspaces come from the token only", () => {
  test("agent B reusing agent A's session id and sequence numbers writes into B's workspace only", async () => {
    const session = "66666666-6666-4666-8666-666666666666";
    await t.client(AGENT_A.token).reportBoundaryLogs(batch([log(0, true, "https://cross.example/a")], session));
    await t.client(AGENT_B.token).reportBoundaryLogs(batch([log(0, false, "https://cross.example/b")], session));
    const a = (await t.adminJson(`logs?workspace_id=${AGENT_A.entry.workspace_id}&domain=cross.example`)).logs;
    const b = (await t.adminJson(`logs?workspace_id=${AGENT_B.entry.workspace_id}&domain=cross.example`)).logs;
    expect(a.map((r: any) => r.http_url)).toEqual(["https://cross.example/a"]);
    expect(b.map((r: any) => r.http_url)).toEqual(["https://cross.example/b"]);
    expect(b[0].workspace_name).toBe("bob-ws");
    expect(b[0].owner_name).toBe("bob");
  });

  test("identity fields smuggled into the JSON body are ignored", async () => {
    const res = await fetch(`${t.server.url}${RPC}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${AGENT_B.token}` },
      body: JSON.stringify({
        sessionId: "77777777-7777-4777-8777-777777777777",
        workspaceId: AGENT_A.entry.workspace_id,
        workspace_id: AGENT_A.entry.workspace_id,
        logs: [{ allowed: false, sequenceNumber: 0, httpRequest: { method: "GET", url: "https://smuggle.example/" } }],
      }),
    });
    expect(res.status).toBe(200);
    const rows = (await t.adminJson("logs?domain=smuggle.example")).logs;
    expect(rows.map((r: any) => r.workspace_id)).toEqual([AGENT_B.entry.workspace_id]);
  });
});
