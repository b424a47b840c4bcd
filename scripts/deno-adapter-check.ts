// Exercises src/runtime/adapter.ts for real under whichever runtime runs
// it (made for Deno; works under Bun too): an HTTP server with a Hono app,
// a Unix socket listener, an SQLite file, a signal handler. Prints one
// "ok"/"FAIL" line per check; exits 1 when any check fails.
//
//   deno run -A scripts/deno-adapter-check.ts [--expect deno]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { listenUnix, onSignal, openSqlite, runtimeName, runtimeVersion, serveHttp } from "../src/runtime/adapter.ts";

const TIMEOUT_MS = 10_000;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Resolves once `check()` is true; polls, no fixed sleeps. */
async function until(what: string, check: () => boolean): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function checkRuntime(expected: string | undefined): Promise<void> {
  if (expected) assert(runtimeName === expected, `runtimeName is ${runtimeName}, expected ${expected}`);
  assert(runtimeVersion().startsWith(`${runtimeName} `), `runtimeVersion() is ${runtimeVersion()}`);
}

async function checkHttp(): Promise<void> {
  const app = new Hono();
  app.get("/ping", (c) => c.text("pong"));
  app.post("/echo", async (c) => c.body(new Uint8Array(await c.req.arrayBuffer())));
  const server = await serveHttp({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  try {
    assert(server.port > 0, `port is ${server.port}`);
    const base = `http://127.0.0.1:${server.port}`;
    const ping = await fetch(`${base}/ping`);
    assert(ping.status === 200 && (await ping.text()) === "pong", "GET /ping did not answer pong");
    const body = new Uint8Array(100_000).map((_, i) => i % 251);
    const echo = await fetch(`${base}/echo`, { method: "POST", body });
    const back = new Uint8Array(await echo.arrayBuffer());
    assert(back.length === body.length && back.every((b, i) => b === body[i]), "POST /echo did not return the body");
    const missing = await fetch(`${base}/nope`);
    await missing.body?.cancel();
    assert(missing.status === 404, `GET /nope answered ${missing.status}`);
  } finally {
    await server.stop(true);
  }
}

async function checkUnixSocket(dir: string): Promise<void> {
  const path = join(dir, "check.sock");
  const received: number[] = [];
  let opened = 0;
  let closed = 0;
  const listener = await listenUnix(path, 0o600, {
    open: () => void opened++,
    data: (_conn, chunk) => void received.push(...chunk),
    close: () => void closed++,
  });
  try {
    assert((statSync(path).mode & 0o777) === 0o600, `socket mode is ${(statSync(path).mode & 0o777).toString(8)}, expected 600`);
    const client = connect(path);
    await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
    const payload = new Uint8Array(70_000).map((_, i) => i % 256);
    client.end(payload);
    await until("all bytes to arrive over the socket", () => received.length === payload.length);
    assert(received.every((b, i) => b === payload[i]), "socket bytes arrived corrupted");
    await until("the connection's close callback", () => closed === 1);
    assert(opened === 1, `open called ${opened} times`);
  } finally {
    await listener.stop();
  }
}

async function checkSqlite(dir: string): Promise<void> {
  const path = join(dir, "check.db");
  const db = await openSqlite(path);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB)");
  const insert = db.prepare("INSERT INTO t (name, data) VALUES (?, ?)");
  assert(insert.run("a", new Uint8Array([1, 2, 3])).changes === 1, "insert changed no row");
  insert.run("b", null);
  assert(db.prepare("UPDATE t SET name = name || '!'").run().changes === 2, "update did not report 2 changes");
  db.close();
  const again = await openSqlite(path);
  try {
    const rows = again.prepare("SELECT id, name FROM t ORDER BY id").all<{ id: number; name: string }>();
    assert(JSON.stringify(rows.map((r) => [Number(r.id), r.name])) === '[[1,"a!"],[2,"b!"]]', `rows read back: ${JSON.stringify(rows)}`);
    const one = again.prepare("SELECT data FROM t WHERE name = ?").get<{ data: Uint8Array }>("a!");
    assert(one && [...one.data].join() === "1,2,3", "blob did not round-trip");
    assert(again.prepare("SELECT 1 FROM t WHERE name = ?").get("zzz") === undefined, "get of no row is not undefined");
  } finally {
    again.close();
  }
}

async function checkSignal(): Promise<void> {
  let got = false;
  onSignal("SIGHUP", () => void (got = true));
  process.kill(process.pid, "SIGHUP");
  await until("the SIGHUP handler", () => got);
}

async function main(argv: string[]): Promise<number> {
  const expectAt = argv.indexOf("--expect");
  const expected = expectAt === -1 ? undefined : argv[expectAt + 1];
  const dir = mkdtempSync(join(tmpdir(), "adapter-check-"));
  const checks: [string, () => Promise<void>][] = [
    ["runtime", () => checkRuntime(expected)],
    ["serveHttp", checkHttp],
    ["listenUnix", () => checkUnixSocket(dir)],
    ["openSqlite", () => checkSqlite(dir)],
    ["onSignal", checkSignal],
  ];
  let failed = 0;
  try {
    for (const [name, check] of checks) {
      try {
        await check();
        console.log(`ok   ${name} (${runtimeVersion()})`);
      } catch (err) {
        failed++;
        console.log(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`adapter check: ${checks.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exit(await main(process.argv.slice(2)));
