// Server response time of each console page (and the timeseries API) with
// N stored records (default 1,000,000, spread evenly over 30 days, sessions
// of 400 records, one in seven with a 10-record gap), served by the
// compiled binary. Time = request sent → whole body read, one request at a
// time, with the console cookie; 1 warm-up then RUNS timed requests per page.
// Target: every page under 300 ms (median).
//
//   bun bench/console-pages.ts [--records N] [--runs R] [--db PATH (reuse a seeded file)]
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SqliteStore } from "../src/coderd/store/sqlite.ts";
import { ADMIN_TOKEN, coderdPaths, startCoderd } from "../test/e2e/harness.ts";
import { seedConsoleData } from "./lib/console-data.ts";
import { median, percentile } from "./lib/stats.ts";

const { values } = parseArgs({ options: { records: { type: "string", default: "1000000" }, runs: { type: "string", default: "10" }, db: { type: "string" } } });
const RECORDS = Number(values.records);
const RUNS = Number(values.runs);
const TARGET_MS = 300;

const dir = mkdtempSync(join(tmpdir(), "bench-console-"));
const paths = coderdPaths(dir);
if (values.db) paths.db = values.db;
const now = Date.now();
let sessions: string[] = [];
if (!values.db || !existsSync(values.db)) {
  const t0 = performance.now();
  const store = await SqliteStore.open(paths.db, { synchronous: "NORMAL" });
  sessions = await seedConsoleData(store, {
    records: RECORDS, spanMs: 30 * 86_400_000, now, recordsPerSession: 400, gapEvery: 7,
    onProgress: (n) => n % 100_000 < 400 && process.stderr.write(`\rseeded ${n} records`),
  });
  // As a running coderd would have: the stderr lines of these records were written at ingest. Otherwise
  // coderd starts by formatting a line for every seeded record, and the pages are timed against that.
  await store.advanceCursor("stderr", await store.lastLogId());
  await store.close();
  console.error(`\nseeded ${RECORDS} records in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${paths.db}`);
}
const coderd = await startCoderd(paths);
const url = `http://127.0.0.1:${coderd.port}`;
try {
  const login = await fetch(`${url}/login`, { method: "POST", redirect: "manual", body: new URLSearchParams({ token: ADMIN_TOKEN }) });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
  const sessionsPage = await (await fetch(`${url}/api/v2/boundary/sessions?limit=1`, { headers: { Cookie: cookie } })).json();
  const newestSession: string = sessionsPage.sessions[0]?.session_id ?? sessions[sessions.length - 1];
  const oldSession = sessions[1] ?? newestSession;
  const pages = [
    "/", "/?range=7d", "/?range=30d",
    "/records", "/records?domain=pastebin.com", "/records?domain=pastebin.com&decision=deny", "/records?host=transfer.sh",
    "/records?owner=bob", "/records?workspace=carol-ml&decision=deny", "/records?url_contains=meta-data",
    "/records?process=aider&domain=github.com",
    "/sessions", `/sessions/${newestSession}`, `/sessions/${oldSession}`,
    "/live", "/live?domain=webhook.site",
    "/api/v2/boundary/stats/timeseries?bucket=1d", "/api/v2/boundary/stats/top-denied?by=workspace",
  ];
  console.log(`console pages, ${RECORDS} records, ${RUNS} runs each (ms: median, p95, max)`);
  let over = 0;
  for (const path of pages) {
    const times: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}${path}`, { headers: { Cookie: cookie } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
      if (i > 0) times.push(performance.now() - t0);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const med = median(times);
    if (med >= TARGET_MS) over++;
    console.log(`${med < TARGET_MS ? "ok  " : "SLOW"} ${path.padEnd(52)} ${med.toFixed(1).padStart(7)} ${percentile(sorted, 95).toFixed(1).padStart(7)} ${sorted[sorted.length - 1]!.toFixed(1).padStart(7)}`);
  }
  console.log(over === 0 ? `every page under ${TARGET_MS} ms (median)` : `${over} page(s) at or over ${TARGET_MS} ms (median)`);
} finally {
  await coderd.stop();
  if (!values.db) rmSync(dir, { recursive: true, force: true });
}
