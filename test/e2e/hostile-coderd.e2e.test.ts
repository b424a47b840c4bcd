// Hostile tests of coderd, the compiled binary: one test per fault of issue
// #9 items 8 and 10 (and #13's bad --db location), each named after the
// fault. Every one failed on the code before its fix.
import { afterEach, describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BoundaryLogSchema, type BoundaryLog, ReportBoundaryLogsRequestSchema,
} from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { FIELD_LIMITS } from "../../src/record/validity.ts";
import {
  AGENT_TOKEN, binary, coderdPaths, type CoderdPaths, emittedCounts, freePort, type Proc, runBinary, startCoderd, startCoderdWith, storedCounts, storedRows, } from "./harness.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";

const RPC = "/boundaryrelay.v1.IngestService/ReportBoundaryLogs";
const SESSION = "8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(): CoderdPaths {
  const { dir, cleanup } = tempDir("br-hostile-coderd-");
  cleanups.push(cleanup);
  return coderdPaths(dir);
}

async function coderd(paths: CoderdPaths, extra: string[] = []): Promise<Proc> {
  const p = extra.length ? await startCoderdWith(paths, extra) : await startCoderd(paths);
  cleanups.push(async () => void (await p.stop("SIGKILL")));
  return p;
}

function log(seq: number, fields: { url?: string; method?: string; seconds?: bigint; nanos?: number } = {}): BoundaryLog {
  return create(BoundaryLogSchema, {
    allowed: false,
    sequenceNumber: seq,
    time: { seconds: fields.seconds ?? 1765227526n, nanos: fields.nanos ?? 93_000_000 },
    resource: { case: "httpRequest", value: { method: fields.method ?? "GET", url: fields.url ?? `https://hostile.example/${seq}` } },
  });
}

function body(logs: BoundaryLog[], sessionId = SESSION): Uint8Array {
  return toBinary(ReportBoundaryLogsRequestSchema, create(ReportBoundaryLogsRequestSchema, { sessionId, confinedProcessName: "claude", logs }));
}

interface Answer {
  status: number;
  code: string;
  message: string;
}

async function post(port: number, payload: Uint8Array | string, contentType = "application/proto"): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${RPC}`, {
    method: "POST",
    headers: { "Content-Type": contentType, Authorization: `Bearer ${AGENT_TOKEN}` },
    body: payload as BodyInit,
  });
  const text = await res.text();
  if (res.status === 200) return { status: 200, code: "ok", message: "" };
  const err = JSON.parse(text) as { code?: string; message?: string };
  return { status: res.status, code: err.code ?? "?", message: err.message ?? "" };
}

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};
const utf8 = (s: string) => new TextEncoder().encode(s);

describe("hostile coderd", () => {
  test("coderd killed between commit and print still emits every stored record", async () => {
    const paths = setup();
    const port = await freePort();
    // First run: stderr is a pipe nobody reads. Once it (and the reader's
    // buffer) is full, lines can only wait in coderd's memory: SIGKILL then
    // catches coderd with records committed and their lines not printed.
    const first = spawn(binary(), [
      "coderd", "--agents-file", paths.agentsFile, "--db", `sqlite:${paths.db}`, "--http-listen", `127.0.0.1:${port}`,
    ], { stdio: ["ignore", "ignore", "pipe"] });
    cleanups.push(() => void first.kill("SIGKILL"));
    const firstExit = new Promise((resolve) => first.once("exit", resolve));
    await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true, { what: "coderd to answer /healthz", timeoutMs: 30_000, intervalMs: 50 });

    const BATCHES = 20;
    const PER_BATCH = 200;
    for (let b = 0; b < BATCHES; b++) {
      const logs = Array.from({ length: PER_BATCH }, (_, i) => log(b * PER_BATCH + i, { url: `https://kill.example/${b}/${i}/${"p".repeat(200)}` }));
      expect(await post(port, body(logs))).toEqual({ status: 200, code: "ok", message: "" });
    }
    const stored = BATCHES * PER_BATCH;
    expect(storedRows(paths.db)).toBe(stored);
    first.kill("SIGKILL");
    // Read what the pipe holds now (waiting for 'exit' first may drop it).
    let firstErr = "";
    for await (const chunk of first.stderr!) firstErr += chunk.toString();
    await firstExit;
    const firstLines = emittedCounts(firstErr);
    // The fault was really provoked: the first run died owing lines.
    expect(firstLines.size).toBeLessThan(stored);

    // Second run on the same database: it prints what the first one owed.
    const second = await coderd(paths);
    const missing = () => {
      const printed = new Set([...firstLines.keys(), ...emittedCounts(second.child.stderr()).keys()]);
      return [...storedCounts(paths.db).keys()].filter((k) => !printed.has(k));
    };
    await until(() => missing().length === 0, { what: "every stored record to have its line", timeoutMs: 30_000, intervalMs: 200 }).catch(() => {});
    expect({ missing: missing().length, of: stored }).toEqual({ missing: 0, of: stored });
    // Lines are at least once: a repeat is allowed, a line for a record never stored is not.
    const everyKey = new Set(storedCounts(paths.db).keys());
    for (const key of emittedCounts(second.child.stderr()).keys()) expect(everyKey.has(key)).toBe(true);
  }, 120_000);

  test("malformed bodies are invalid_argument, not internal", async () => {
    const paths = setup();
    const { port } = await coderd(paths);
    // issue #9 item 1: a time that claims 5 bytes where 2 remain in its record.
    const rec = concat(hex("1a1b0a034745541214"), utf8("https://example.com/"), hex("12050801"));
    const truncatedTime = concat(hex("0a21"), rec, hex("1a0178"), hex("1224"), utf8(SESSION.slice(0, 35) + "0"));
    const truncatedVarint = hex("0a050880");
    const deepGroups = new Uint8Array(400_000).map((_, i) => (i % 2 === 0 ? 0x9b : 0x06)); // field 99, start group, 200,000 deep
    const badUtf8Url = concat(hex("0a0c"), hex("1a0a"), hex("0a0147"), hex("1205"), utf8("htt"), hex("fffe"));
    const cases: Array<[string, Uint8Array | string, string]> = [
      ["proto: nested length past its parent", truncatedTime, "application/proto"],
      ["proto: truncated varint", truncatedVarint, "application/proto"],
      ["proto: 200,000 nested groups", deepGroups, "application/proto"],
      ["proto: invalid UTF-8 in a url", badUtf8Url, "application/proto"],
      ["json: invalid UTF-8 in a url", concat(utf8(`{"sessionId":"${SESSION}","logs":[{"sequenceNumber":7,"httpRequest":{"url":"https://x.example/`), hex("ff"), utf8(`"}}]}`)), "application/json"],
      ["json: cut short", `{"logs":[{"httpRequest":`, "application/json"],
    ];
    const answers = [];
    for (const [name, payload, type] of cases) {
      const a = await post(port, payload, type);
      answers.push({ name, status: a.status, code: a.code });
    }
    expect(answers).toEqual(cases.map(([name]) => ({ name, status: 400, code: "invalid_argument" })));
    expect(storedRows(paths.db)).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  test("out-of-range event_time is refused naming the field", async () => {
    const paths = setup();
    const { port } = await coderd(paths);
    const cases: Array<[string, BoundaryLog, string]> = [
      ["year 10000", log(1, { seconds: 253402300800n }), "logs[1].time.seconds"],
      ["before year 1", log(1, { seconds: -62135596801n }), "logs[1].time.seconds"],
      ["past any Date (NaN-NaN-…)", log(1, { seconds: 10n ** 15n }), "logs[1].time.seconds"],
      ["negative nanos", log(1, { nanos: -5 }), "logs[1].time.nanos"],
      ["nanos of a whole second", log(1, { nanos: 1_000_000_000 }), "logs[1].time.nanos"],
    ];
    for (const [name, bad, field] of cases) {
      const a = await post(port, body([log(0), bad]));
      expect({ name, status: a.status, code: a.code, names: a.message.includes(field) }).toEqual({ name, status: 400, code: "invalid_argument", names: true });
    }
    expect(storedRows(paths.db)).toBe(0);
  });

  test("years below 1000 print with four digits, as Go does", async () => {
    const paths = setup();
    const p = await coderd(paths);
    const year1 = -62135596800n; // 0001-01-01T00:00:00Z
    const year999 = -30641760000n; // 0999-01-01T00:00:00Z
    expect((await post(p.port, body([log(0, { seconds: year1, nanos: 0 }), log(1, { seconds: year999, nanos: 5 })]))).code).toBe("ok");
    await until(() => emittedCounts(p.child.stderr()).size === 2, { what: "two lines", timeoutMs: 15_000, intervalMs: 50 });
    expect(p.child.stderr()).toContain(" event_time=0001-01-01T00:00:00Z\n");
    expect(p.child.stderr()).toContain(" event_time=0999-01-01T00:00:00.000000005Z\n");
  });

  test("oversized url is refused naming the field", async () => {
    const paths = setup();
    const p = await coderd(paths);
    const at = (n: number) => `https://big.example/${"u".repeat(n - "https://big.example/".length)}`;
    const over = await post(p.port, body([log(0, { url: at(FIELD_LIMITS.http_url + 1) })]));
    expect({ status: over.status, code: over.code }).toEqual({ status: 400, code: "invalid_argument" });
    expect(over.message).toContain("logs[0]");
    expect(over.message).toContain("url");
    const bigMethod = await post(p.port, body([log(0, { method: "M".repeat(FIELD_LIMITS.http_method + 1) })]));
    expect({ code: bigMethod.code, names: bigMethod.message.includes("method") }).toEqual({ code: "invalid_argument", names: true });
    const overJson = await post(p.port, JSON.stringify({ sessionId: SESSION, logs: [{ sequenceNumber: 3, httpRequest: { method: "GET", url: at(FIELD_LIMITS.http_url + 1) } }] }), "application/json");
    expect({ code: overJson.code, names: overJson.message.includes("logs[0].http_request.url") }).toEqual({ code: "invalid_argument", names: true });
    const fifteenMb = await post(p.port, body([log(0, { url: at(15 * 1024 * 1024) })]));
    expect(fifteenMb.code).not.toBe("ok");
    expect(storedRows(paths.db)).toBe(0);
    // At the cap exactly, the record is taken.
    expect((await post(p.port, body([log(0, { url: at(FIELD_LIMITS.http_url) })]))).code).toBe("ok");
    expect(storedRows(paths.db)).toBe(1);
  });

  test("json lines escape C1 controls and line separators", async () => {
    const paths = setup();
    const p = await coderd(paths, ["--log-format", "json"]);
    const nasty = "a\u0085b\u007fc\u009b[31md\u2028e\u2029f\u001cg\u000bh\u000ci\re";
    expect((await post(p.port, body([log(0, { url: `https://sep.example/${nasty}`, method: nasty })]))).code).toBe("ok");
    await until(() => p.child.stderr().includes('"msg":"boundary_request"'), { what: "the line", timeoutMs: 15_000, intervalMs: 50 });
    await until(() => p.child.stderr().split("\n").some((l) => l.includes('"msg":"boundary_request"') && l.endsWith("}}")), { what: "the whole line", timeoutMs: 15_000, intervalMs: 50 });
    const line = p.child.stderr().split("\n").find((l) => l.includes('"msg":"boundary_request"'))!;
    // What Python's str.splitlines() splits on, besides \n.
    expect(line).not.toMatch(/[\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]/);
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    const fields = JSON.parse(line).fields;
    expect(fields.http_url).toBe(`https://sep.example/${nasty}`);
    expect(fields.http_method).toBe(nasty);
  });

  test("text lines quote C1 controls and line separators", async () => {
    const paths = setup();
    const p = await coderd(paths);
    const nasty = "a\u0085b\u007fc\u009b[31md\u2028e\u2029f";
    expect((await post(p.port, body([log(0, { url: `https://sep.example/${nasty}` })]))).code).toBe("ok");
    await until(() => emittedCounts(p.child.stderr()).size === 1, { what: "the line", timeoutMs: 15_000, intervalMs: 50 });
    const line = p.child.stderr().split("\n").find((l) => l.includes(" boundary_request "))!;
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(line).toContain('http_url="https://sep.example/a\\u0085b\\x7fc\\u009b[31md\\u2028e\\u2029f"');
  });

  test("store files are 0600", async () => {
    const paths = setup();
    const p = await coderd(paths);
    expect((await post(p.port, body([log(0)]))).code).toBe("ok");
    const modes = Object.fromEntries(
      ["", "-wal", "-shm"].map((suffix) => [suffix || "db", existsSync(paths.db + suffix) ? (statSync(paths.db + suffix).mode & 0o777).toString(8) : "missing"]),
    );
    expect(modes).toEqual({ db: "600", "-wal": "600", "-shm": "600" });
  });

  test("readable agents file with plain tokens warns", async () => {
    const paths = setup();
    chmodSync(paths.agentsFile, 0o644);
    const p = await coderd(paths);
    const warnings = () => p.child.stderr().split("\n").filter((l) => l.includes("readable by group or others"));
    await until(() => warnings().length === 1, { what: "the start-up warning", timeoutMs: 15_000, intervalMs: 50 }).catch(() => {});
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(paths.agentsFile);
    expect(warnings()[0]).toContain("token_sha256");
    // At reload, again; a file only its owner can read is quiet.
    p.child.kill("SIGHUP");
    await until(() => /reloaded .*agents\.yaml/.test(p.child.stderr()), { what: "the reload", timeoutMs: 15_000, intervalMs: 50 });
    expect(warnings()).toHaveLength(2);
    chmodSync(paths.agentsFile, 0o600);
    p.child.kill("SIGHUP");
    await until(() => p.child.stderr().match(/reloaded .*agents\.yaml/g)?.length === 2, { what: "the second reload", timeoutMs: 15_000, intervalMs: 50 });
    expect(warnings()).toHaveLength(2);
   }, 60_000);

  test("a --db in a place that cannot be created is a usage error naming db", async () => {
    const paths = setup();
    writeFileSync(join(paths.dir, "afile"), "");
    for (const db of ["sqlite:/proc/x/y.db", `sqlite:${join(paths.dir, "afile", "y.db")}`]) {
      const r = await runBinary(["coderd", "--agents-file", paths.agentsFile, "--db", db, "--http-listen", "127.0.0.1:0"]);
      expect({ db, code: r.code }).toEqual({ db, code: 2 });
      expect(r.stderr).toContain("db (from --db)");
    }
  });
});
