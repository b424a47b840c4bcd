// coderd's process records with a real server (HTTP, SQLite file): the
// ReportProcessLogs RPC (auth, invalid_argument naming the field,
// de-duplication), the exec lines (text and JSON, injection-proof) and
// GET /api/v2/process/logs (filters, cursor paging, 400 naming a parameter).
import { afterEach, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Database } from "bun:sqlite";
import {
  type ProcessExec, ProcessExecSchema, type ReportProcessLogsRequest, ReportProcessLogsRequestSchema,
} from "../../../src/gen/boundaryrelay/v1/process_pb.ts";
import { ADMIN, AGENT_A, AGENT_B, startTestServer, type TestServer } from "../helpers.ts";
import { readMetric } from "../../helpers/metrics.ts";

const BOOT = "86ce15cf-80a2-4b5e-831f-4743ffd37b5f";
const T0 = 1765227526093;

function exec(pid: number, argv: string[], overrides: Partial<Omit<ProcessExec, "$typeName" | "$unknown">> = {}): ProcessExec {
  return create(ProcessExecSchema, {
    time: timestampFromMs(T0 + pid),
    monotonicNs: BigInt(pid) * 1000n + 7n,
    pid,
    ppid: 1,
    uid: 1000,
    gid: 1000,
    filename: `/usr/bin/${argv[0]}`,
    argv,
    comm: argv[0],
    truncated: false,
    cmdline: argv.join(" "),
    ...overrides,
  });
}

const request = (execs: ProcessExec[], bootId = BOOT): ReportProcessLogsRequest => create(ReportProcessLogsRequestSchema, { bootId, execs });

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const execLines = (s: TestServer) => s.writes.join("").split("\n").filter((l) => / exec |"msg":"exec"/.test(l));
const processApi = (s: TestServer, query: string, token = ADMIN) =>
  fetch(`${s.server.url}/api/v2/process/logs${query}`, { headers: { Authorization: `Bearer ${token}` } });

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the RPC to be refused");
}

describe("ReportProcessLogs", () => {
  test("stores a batch, emits one exec line per record with the workspace labels, and stores a repeat once", async () => {
    server = await startTestServer(["--log-format", "json"]);
    const req = request([exec(100, ["uname", "-a"]), exec(101, ["true", "x", "y", "z"], { truncated: true })]);
    await server.client().reportProcessLogs(req);
    await server.client().reportProcessLogs(req); // the agent re-sends after a lost acknowledgement
    const lines = execLines(server).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: "INFO", msg: "exec",
      fields: {
        labels: { organization_id: "", user_email: "", user_id: AGENT_A.entry.owner_id, username: "alice", workspace_id: AGENT_A.entry.workspace_id, workspace_name: "alice-dev" },
        cmdline: "uname -a",
        event: { filename: "/usr/bin/uname", argv: ["uname", "-a"], truncated: false, pid: 100, ppid: 1, uid: 1000, gid: 1000, comm: "uname", time: "2025-12-08T20:58:46.193Z" },
      },
    });
    const db = new Database(server.dbPath, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM process_logs").get()).toEqual({ n: 2 });
    db.close();
    expect(await readMetric(server.server.url, "coderd_process_execs_duplicate_total")).toBe(2);
    expect(await readMetric(server.server.url, "coderd_process_execs_ingested_total", { result: "truncated" })).toBe(1);
  });

  test("the same pid and time from another workspace is another exec", async () => {
    server = await startTestServer();
    await server.client().reportProcessLogs(request([exec(100, ["ls"])]));
    await server.client(AGENT_B.token).reportProcessLogs(request([exec(100, ["ls"])]));
    expect(execLines(server)).toHaveLength(2);
  });

  test("without a token, or with an unknown one: unauthenticated, nothing stored", async () => {
    server = await startTestServer();
    expect((await refusal(server.client(null).reportProcessLogs(request([exec(1, ["ls"])])))).code).toBe(Code.Unauthenticated);
    expect((await refusal(server.client("not-a-known-token-000").reportProcessLogs(request([exec(1, ["ls"])])))).code).toBe(Code.Unauthenticated);
    expect(execLines(server)).toHaveLength(0);
  });

  const bad: [string, ReportProcessLogsRequest, string][] = [
    ["boot_id not a UUID", request([exec(1, ["ls"])], "nope"), "boot_id:"],
    ["time missing", request([exec(1, ["ls"]), exec(2, ["ls"], { time: undefined })]), "execs[1].time: is missing"],
    ["nanos out of range", request([exec(1, ["ls"], { time: { $typeName: "google.protobuf.Timestamp", seconds: 1n, nanos: 1_000_000_000 } })]), "execs[0].time.nanos"],
    ["pid 0", request([exec(1, ["ls"], { pid: 0 })]), "execs[0].pid"],
    ["argv too long", request([exec(1, ["ls", "x".repeat(70_000)])]), "execs[0].argv"],
    ["too many execs", request(Array.from({ length: 1001 }, (_, i) => exec(i + 1, ["ls"]))), "at most 1000"],
  ];
  for (const [name, req, field] of bad) {
    test(`invalid_argument naming the field: ${name}; nothing stored`, async () => {
      server ??= await startTestServer();
      const err = await refusal(server.client().reportProcessLogs(req));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain(field);
      expect(execLines(server)).toHaveLength(0);
    });
  }

  // Bytes that are not a well-formed ReportProcessLogsRequest: the decoder must never see them (it answered `internal`).
  const malformedBodies: [string, number[], string][] = [
    ["boot_id not UTF-8", [10, 2, 0xff, 0xfe], "boot_id: is not valid UTF-8"],
    ["boot_id length past the body", [10, 5, 0x41], "boot_id: claims 5 bytes while 1 remain"],
    ["a group", [0x1b, 0x1c], "field 3: wire type group start is not allowed"],
    ["boot_id as a varint", [8, 5], "boot_id: has wire type varint, declared length-delimited"],
    ["an argv string not UTF-8", [18, 6, 0x42, 4, 0x61, 0xc3, 0x28, 0x62], "execs[0].argv[0]: is not valid UTF-8"],
    ["an exec whose length runs past the body", [18, 10, 1], "execs[0]: claims 10 bytes while 1 remain"],
    ["a pid varint cut short", [18, 2, 0x18, 0xff], "execs[0].pid: varint runs past its message"],
    ["time.nanos as fixed32", [18, 7, 0x0a, 5, 0x15, 1, 2, 3, 4], "execs[0].time.nanos: has wire type fixed32, declared varint"],
  ];
  for (const [name, bytes, message] of malformedBodies) {
    test(`a malformed binary body is invalid_argument naming the field, never internal: ${name}`, async () => {
      server ??= await startTestServer();
      const res = await fetch(`${server.server.url}/boundaryrelay.v1.IngestService/ReportProcessLogs`, {
        method: "POST",
        headers: { "content-type": "application/proto", authorization: `Bearer ${AGENT_A.token}` },
        body: new Uint8Array(bytes),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe("invalid_argument");
      expect(body.message).toContain(message);
      expect(execLines(server)).toHaveLength(0);
    });
  }

  test("text lines quote what could forge or split a line", async () => {
    server = await startTestServer(["--log-format", "text"]);
    await server.client().reportProcessLogs(request([exec(5, ["sh", "-c", 'echo hi\n2025-12-08 [info] exec pid=1 workspace_id="forged"'])]));
    const all = server.writes.join("");
    expect(all.split("\n").filter((l) => l.includes(" exec "))).toHaveLength(1);
    expect(all).toContain('cmdline="sh -c echo hi\\n2025-12-08 [info] exec pid=1 workspace_id=\\"forged\\""');
    expect(all).toMatch(/ \[info\] exec workspace_id=0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f workspace_name=alice-dev owner=alice pid=5 ppid=1 /);
  });

  test("JSON lines escape line separators and control characters", async () => {
    server = await startTestServer(["--log-format", "json"]);
    await server.client().reportProcessLogs(request([exec(5, ["echo", "a\u2028b\nc"])]));
    const raw = server.writes.join("");
    expect(raw).not.toContain("\u2028");
    expect(raw.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(raw).fields.event.argv).toEqual(["echo", "a\u2028b\nc"]);
  });
});

describe("GET /api/v2/process/logs", () => {
  async function seeded(): Promise<TestServer> {
    const s = await startTestServer();
    await s.client().reportProcessLogs(request([exec(10, ["curl", "https://x"]), exec(11, ["ls"]), exec(12, ["curl", "-v"])]));
    await s.client(AGENT_B.token).reportProcessLogs(request([exec(20, ["curl", "b"])]));
    return s;
  }

  test("newest first; workspace, owner and command filters", async () => {
    server = await seeded();
    const all = await (await processApi(server, "")).json();
    expect(all.execs.map((e: { pid: number }) => e.pid)).toEqual([20, 12, 11, 10]);
    const curlOfAlice = await (await processApi(server, `?owner=alice&command=curl`)).json();
    expect(curlOfAlice.execs.map((e: { pid: number }) => e.pid)).toEqual([12, 10]);
    expect(curlOfAlice.execs[0]).toMatchObject({ workspace_name: "alice-dev", argv: ["curl", "-v"], command: "curl", boot_id: BOOT, truncated: false });
    const ofB = await (await processApi(server, `?workspace_id=${AGENT_B.entry.workspace_id}`)).json();
    expect(ofB.execs.map((e: { pid: number }) => e.pid)).toEqual([20]);
  });

  test("time window on the event time", async () => {
    server = await seeded();
    const since = new Date(T0 + 11).toISOString();
    const until = new Date(T0 + 20).toISOString();
    const page = await (await processApi(server, `?since=${since}&until=${until}`)).json();
    expect(page.execs.map((e: { pid: number }) => e.pid)).toEqual([12, 11]);
  });

  test("cursor paging visits every record once", async () => {
    server = await seeded();
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { execs: { pid: number }[]; next_cursor: string | null } = await (await processApi(server, `?limit=1${cursor ? `&cursor=${cursor}` : ""}`)).json();
      seen.push(...page.execs.map((e) => e.pid));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([20, 12, 11, 10]);
  });

  test("a bad parameter is a 400 naming it", async () => {
    server = await seeded();
    for (const [query, parameter] of [["?since=yesterday", "since"], ["?limit=0", "limit"], ["?cursor=zzz", "cursor"], ["?decision=deny", "decision"], ["?command=", "command"]]) {
      const res = await processApi(server, query!);
      expect(res.status).toBe(400);
      expect((await res.json()).parameter).toBe(parameter);
    }
  });

  test("admin token only: an agent token is refused", async () => {
    server = await seeded();
    expect((await processApi(server, "", AGENT_A.token)).status).toBe(403);
    expect((await processApi(server, "", "wrong-admin-token")).status).toBe(401);
  });
});
