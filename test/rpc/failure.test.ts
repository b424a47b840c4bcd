// classifySendFailure against real failures: a port nobody listens on, a
// certificate nobody trusts, a server answering each way coderd does, a
// deadline, an abort. Network failures must read as unavailable, never unknown.
import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { classifySendFailure, createIngestClient, type SendFailure } from "../../src/rpc/index.ts";
import { platformCode } from "../../src/rpc/failure.ts";
import { serveHttp } from "../../src/runtime/adapter.ts";
import { IngestServer, TEST_TOKEN, type FailureMode } from "../agent/forwarder/ingest-server.ts";
import { freePort } from "../e2e/harness.ts";
import { makeRequest } from "../agent/spool/helpers.ts";
import { tempDir } from "../helpers/temp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What one send to `baseUrl` fails with, classified. */
async function failureOf(baseUrl: string, opts: { caPem?: string; timeoutMs?: number; signal?: AbortSignal; request?: ReturnType<typeof makeRequest> } = {}): Promise<SendFailure> {
  const client = createIngestClient({ baseUrl, token: TEST_TOKEN, caPem: opts.caPem });
  const signal = opts.signal ?? new AbortController().signal;
  try {
    await client.reportBoundaryLogs(opts.request ?? makeRequest("s", 0, 1), { signal, timeoutMs: opts.timeoutMs ?? 10_000 });
  } catch (err) {
    return classifySendFailure(err, signal);
  }
  throw new Error("the send succeeded");
}

async function server(): Promise<IngestServer> {
  const s = new IngestServer();
  await s.start();
  cleanups.push(() => s.stop());
  return s;
}

describe("platform failures become unavailable", () => {
  test("nobody listening (ECONNREFUSED)", async () => {
    const f = await failureOf(`http://127.0.0.1:${await freePort()}`);
    expect(f).toMatchObject({ kind: "retry", code: "unavailable" });
    expect(f.kind === "retry" && f.message).toContain("ECONNREFUSED");
  });

  test("a certificate nobody trusts (TLS)", async () => {
    const tls = tempDir("br-rpc-tls-");
    cleanups.push(tls.cleanup);
    const made = spawnSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", join(tls.dir, "key.pem"), "-out", join(tls.dir, "cert.pem"),
    ]);
    expect(made.status).toBe(0);
    const srv = new IngestServer();
    const https = await serveHttp({
      hostname: "127.0.0.1", port: 0, fetch: srv.handle,
      tls: { cert: readFileSync(join(tls.dir, "cert.pem"), "utf8"), key: readFileSync(join(tls.dir, "key.pem"), "utf8") },
    });
    cleanups.push(() => https.stop(true));
    expect(await failureOf(`https://127.0.0.1:${https.port}`)).toMatchObject({ kind: "retry", code: "unavailable" });
    // …and with the CA given, the same server answers.
    await createIngestClient({ baseUrl: `https://127.0.0.1:${https.port}`, token: TEST_TOKEN, caPem: readFileSync(join(tls.dir, "cert.pem"), "utf8") }).reportBoundaryLogs(makeRequest("s", 0, 1));
    expect(srv.received.size).toBe(1);
  });

  test("error shapes of other runtimes, along the cause chain", () => {
    const wrapped = (cause: Error) => new ConnectError("fetch failed", Code.Unknown, undefined, undefined, new TypeError("fetch failed", { cause }));
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    const named = (name: string) => Object.assign(new Error(name), { name });
    expect(platformCode(wrapped(withCode("ECONNRESET")))).toBe("unavailable");
    expect(platformCode(wrapped(withCode("EAI_AGAIN")))).toBe("unavailable");
    expect(platformCode(wrapped(withCode("EHOSTUNREACH")))).toBe("unavailable");
    expect(platformCode(wrapped(withCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE")))).toBe("unavailable");
    expect(platformCode(wrapped(named("ConnectionRefused")))).toBe("unavailable"); // Deno.errors.*
    expect(platformCode(wrapped(withCode("ETIMEDOUT")))).toBe("deadline_exceeded");
    expect(platformCode(wrapped(named("TimedOut")))).toBe("deadline_exceeded");
    expect(platformCode(new TypeError("fetch failed"))).toBe("unavailable"); // the Fetch standard's network error
    expect(platformCode(new ConnectError("boom", Code.Unknown))).toBeNull(); // a server that said unknown
    expect(platformCode(new Error("not a network error"))).toBeNull();
  });
});

describe("coderd's answers", () => {
  const cases: Array<[FailureMode, SendFailure["kind"], string]> = [
    ["unavailable", "retry", "unavailable"],
    ["resource_exhausted", "retry", "resource_exhausted"],
    ["deadline_exceeded", "retry", "deadline_exceeded"],
    ["unauthenticated", "unauthenticated", "unauthenticated"],
  ];
  for (const [mode, kind, code] of cases) {
    test(`${mode} → ${kind} (${code})`, async () => {
      const srv = await server();
      srv.failure = mode;
      expect(await failureOf(srv.url)).toMatchObject({ kind, code });
    });
  }

  test("invalid_argument → refused, with coderd's message", async () => {
    const srv = await server();
    srv.refuse.add("s:0");
    expect(await failureOf(srv.url)).toEqual({ kind: "refused", code: "invalid_argument", message: "bad record" });
  });

  test("a server answering unknown stays unknown", () => {
    expect(classifySendFailure(new ConnectError("oops", Code.Unknown))).toEqual({ kind: "retry", code: "unknown", message: "oops" });
  });

  test("our own deadline → deadline_exceeded", async () => {
    const srv = await server();
    srv.delayMs = 5000;
    expect(await failureOf(srv.url, { timeoutMs: 50 })).toMatchObject({ kind: "retry", code: "deadline_exceeded" });
  });

  test("our own abort → aborted, whatever the error", async () => {
    const srv = await server();
    srv.delayMs = 5000;
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 20);
    expect(await failureOf(srv.url, { signal: abort.signal })).toEqual({ kind: "aborted" });
  });
});
