// Binary calls with a Content-Length are answered directly
// (src/coderd/direct-unary.ts), others by the Connect router. Each case is
// sent twice over a raw socket to a real coderd, once with a Content-Length
// and once chunked, and both answers must be the same bytes: status,
// content-type, content-length and body.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { toBinary } from "@bufbuild/protobuf";
import { createConnection } from "node:net";
import { ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { answersDirectly } from "../../src/coderd/direct-unary.ts";
import { AGENT_A, batch, log, startTestServer, type TestServer } from "./helpers.ts";

const BOUNDARY_RPC = "/boundaryrelay.v1.IngestService/ReportBoundaryLogs";
const PROCESS_RPC = "/boundaryrelay.v1.IngestService/ReportProcessLogs";

interface Answer {
  status: number;
  contentType: string | undefined;
  contentLength: string | undefined;
  body: string;
}

/** One HTTP/1.1 POST over a fresh socket, the body framed as asked; the answer as it came. */
function post(url: string, path: string, headers: Record<string, string>, body: Uint8Array, framing: "length" | "chunked"): Promise<Answer> {
  const { hostname, port } = new URL(url);
  const head = [`POST ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, "Connection: close", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  head.push(framing === "length" ? `Content-Length: ${body.length}` : "Transfer-Encoding: chunked");
  const framed = framing === "length" ? body : chunked(body);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ host: hostname, port: Number(port) }, () => {
      socket.write(`${head.join("\r\n")}\r\n\r\n`);
      socket.write(framed); // not end(): a half-closed request is an aborted one to the server
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(parseAnswer(Buffer.concat(chunks).toString("latin1"))));
  });
}

/** The body as one chunk and the last, empty chunk (an empty body is the last chunk alone). */
function chunked(body: Uint8Array): Uint8Array {
  const last = Buffer.from("0\r\n\r\n");
  if (body.length === 0) return last;
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n"), last]);
}

function parseAnswer(raw: string): Answer {
  const split = raw.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = raw.slice(0, split).split("\r\n");
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return {
    status: Number(statusLine!.split(" ")[1]),
    contentType: headers.get("content-type"),
    contentLength: headers.get("content-length"),
    body: raw.slice(split + 4),
  };
}

const bearer = (token: string) => ({ "Content-Type": "application/proto", Authorization: `Bearer ${token}` });
const proto = (n: number, session: string, url = (i: number) => `https://direct${n}.example/${i}`) =>
  toBinary(ReportBoundaryLogsRequestSchema, batch(Array.from({ length: n }, (_, i) => log(i, i % 2 === 0, url(i))), session));

// Field 1 (logs) announcing 200 bytes where 2 follow.
const TRUNCATED = new Uint8Array([0x0a, 0xc8, 0x01, 0x08, 0x01]);
// logs[0].http_request.url holding a lone continuation byte.
const BAD_UTF8 = new Uint8Array([0x0a, 0x05, 0x1a, 0x03, 0x12, 0x01, 0x80]);

const CASES: Array<{ name: string; path: string; headers: Record<string, string>; body: () => Uint8Array; status: number }> = [
  { name: "a valid batch", path: BOUNDARY_RPC, headers: bearer(AGENT_A.token), body: () => proto(10, crypto.randomUUID()), status: 200 },
  { name: "an empty body", path: BOUNDARY_RPC, headers: bearer(AGENT_A.token), body: () => new Uint8Array(), status: 200 },
  { name: "a truncated length", path: BOUNDARY_RPC, headers: bearer(AGENT_A.token), body: () => TRUNCATED, status: 400 },
  { name: "a URL that is not UTF-8", path: BOUNDARY_RPC, headers: bearer(AGENT_A.token), body: () => BAD_UTF8, status: 400 },
  { name: "1001 records", path: BOUNDARY_RPC, headers: bearer(AGENT_A.token), body: () => proto(1001, crypto.randomUUID()), status: 400 },
  { name: "no token", path: BOUNDARY_RPC, headers: { "Content-Type": "application/proto" }, body: () => proto(1, crypto.randomUUID()), status: 401 },
  { name: "an unknown token", path: BOUNDARY_RPC, headers: bearer("not-a-known-token-123"), body: () => proto(1, crypto.randomUUID()), status: 401 },
  { name: "a timeout the router takes", path: BOUNDARY_RPC, headers: { ...bearer(AGENT_A.token), "Connect-Timeout-Ms": "10000" }, body: () => proto(3, crypto.randomUUID()), status: 200 },
  { name: "exec records: no boot_id", path: PROCESS_RPC, headers: bearer(AGENT_A.token), body: () => new Uint8Array(), status: 400 },
  { name: "exec records: a truncated length", path: PROCESS_RPC, headers: bearer(AGENT_A.token), body: () => TRUNCATED, status: 400 },
];

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe("a binary call with a Content-Length gets the router's answer, byte for byte", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const body = c.body();
      const direct = await post(t.server.url, c.path, c.headers, body, "length");
      const routed = await post(t.server.url, c.path, c.headers, body, "chunked");
      expect({ status: routed.status, body: routed.body }).toEqual({ status: c.status, body: expect.any(String) });
      expect(direct).toEqual(routed);
    });
  }
});

test("records sent either way are stored, each once", async () => {
  const session = crypto.randomUUID();
  const body = proto(20, session, (i) => `https://either-way.example/${i}`);
  expect((await post(t.server.url, BOUNDARY_RPC, bearer(AGENT_A.token), body, "length")).status).toBe(200);
  expect((await post(t.server.url, BOUNDARY_RPC, bearer(AGENT_A.token), body, "chunked")).status).toBe(200);
  expect((await t.adminJson("logs?limit=100&domain=either-way.example")).logs.length).toBe(20);
});

describe("which requests are answered directly", () => {
  const req = (headers: Record<string, string>, method = "POST") =>
    new Request("http://coderd.test/x", { method, headers: { "content-type": "application/proto", "content-length": "10", ...headers } });
  test("binary POSTs with a Content-Length within the limit", () => {
    expect(answersDirectly(req({}), 100)).toBe(true);
    expect(answersDirectly(req({ "content-encoding": "identity", "connect-timeout-ms": "5000" }), 100)).toBe(true);
  });
  test("everything else goes to the router", () => {
    expect(answersDirectly(req({ "content-type": "application/json" }), 100)).toBe(false);
    expect(answersDirectly(req({ "content-type": "application/proto; charset=utf-8" }), 100)).toBe(false);
    expect(answersDirectly(req({ "content-encoding": "gzip" }), 100)).toBe(false);
    expect(answersDirectly(req({ "content-length": "101" }), 100)).toBe(false);
    expect(answersDirectly(req({ "connect-timeout-ms": "soon" }), 100)).toBe(false);
    expect(answersDirectly(req({}, "GET"), 100)).toBe(false);
    const chunked = new Request("http://coderd.test/x", { method: "POST", headers: { "content-type": "application/proto" } });
    expect(answersDirectly(chunked, 100)).toBe(false);
  });
});
