// Queries at scale (issues #10 and #11): N stored records (seeded by SQL,
// bench/lib/seed-sql.ts, spread over 30 days), the compiled coderd on that
// file, and
//  - the response time (request sent → whole body read, one at a time,
//    1 warm-up then `runs` timed) of stats, top lists, charts and console
//    pages: p50 and p95;
//  - ingest with and without a concurrent query load: coderd alone (4 RPC
//    clients, bench/rpc-load.ts) and end to end (writer → agent → coderd,
//    100 sessions), each run with no queries, with stats/top-denied at
//    QUERY_RATE per second (a few reviewers with the overview open), and
//    with them back to back (one client, no pause: the worst case). The
//    modes alternate run by run so drift on a shared machine hits all alike;
//    "ratio" is the median rate with queries over the median without.
// Targets: stats and top-denied ≤ 100 ms p95 at 10M records, console pages
// < 300 ms at 1M, ingest with queries ≥ 0.9 of without.
//
//   bun bench/queries.ts [--records N] [--runs R] [--repeats K (0: no ingest runs)] [--batches B] [--db PATH (reuse a seeded file)]
// `npm run bench` runs it as the "queries" group at 1M records; `npm run
// bench:rollups` at 10M.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { seedBySql } from "./lib/seed-sql.ts";
import { sleep, start, waitForCount, waitForLine } from "./lib/proc.ts";
import { coderdOutputArgs, counter, INGESTED, startAgent, startCoderd, startWriter, TOKEN, type RunningCoderd } from "./lib/stack.ts";
import { type Figure, median, percentile, summarize } from "./lib/stats.ts";
import { table } from "./lib/report.ts";

const ADMIN = "bench-admin-token-0123456789abcdef";
const SPAN_MS = 30 * 86_400_000;
const QUERY_RATE = 5;
const E2E_SESSIONS = 100;
const E2E_RECORDS = 90_000;
const RPC_CLIENTS = 4;

export interface QueriesBenchOptions {
  records: number;
  /** Timed requests per endpoint. */
  runs: number;
  /** Ingest runs per mode. */
  repeats: number;
  /** 1000-record batches per coderd-ingest run. */
  batches: number;
  /** A seeded database to reuse (seeded there when missing). */
  db?: string;
  log?: (line: string) => void;
}

/** What each endpoint's name stands for; `{since24h}` and `{since7d}` are filled in at run time. */
const API = "/api/v2/boundary";
const ENDPOINTS: [string, string][] = [
  ["stats", `${API}/stats`],
  ["stats_24h", `${API}/stats?since={since24h}`],
  ["stats_workspace_domain", `${API}/stats?workspace=carol-ml&domain=pastebin.com`],
  ["top_denied", `${API}/stats/top-denied`],
  ["top_denied_by_workspace", `${API}/stats/top-denied?by=workspace`],
  ["top_denied_7d", `${API}/stats/top-denied?since={since7d}`],
  ["top_allowed", `${API}/stats/top-allowed`],
  ["timeseries_1h", `${API}/stats/timeseries?bucket=1h`],
  ["timeseries_1d", `${API}/stats/timeseries?bucket=1d`],
  ["timeseries_1m", `${API}/stats/timeseries?bucket=1m`],
  ["stats_url_contains (scan)", `${API}/stats?url_contains=meta-data&since={since7d}`],
  ["page /", "/"],
  ["page /?range=7d", "/?range=7d"],
  ["page /?range=30d", "/?range=30d"],
  ["page /records", "/records"],
  ["page /records?domain=pastebin.com&decision=deny", "/records?domain=pastebin.com&decision=deny"],
  ["page /sessions", "/sessions"],
  ["page /live", "/live"],
];
const LOAD_PATHS = [`${API}/stats`, `${API}/stats/top-denied`];

const auth = { Authorization: `Bearer ${ADMIN}` };

async function timedGet(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return performance.now() - t0;
}

async function consoleCookie(url: string): Promise<string> {
  const login = await fetch(`${url}/login`, { method: "POST", redirect: "manual", body: new URLSearchParams({ token: ADMIN }) });
  return (login.headers.get("set-cookie") ?? "").split(";")[0]!;
}

async function latencies(coderd: RunningCoderd, o: QueriesBenchOptions): Promise<Figure[]> {
  const cookie = await consoleCookie(coderd.url);
  const now = Date.now();
  const figures: Figure[] = [];
  const params = { records: o.records, runs: o.runs, span_days: 30, method: "one request at a time, sent → body read" };
  for (const [name, template] of ENDPOINTS) {
    const path = template.replace("{since24h}", new Date(now - 86_400_000).toISOString()).replace("{since7d}", new Date(now - 7 * 86_400_000).toISOString());
    const headers = name.startsWith("page ") ? { Cookie: cookie } : auth;
    const times: number[] = [];
    for (let i = 0; i <= o.runs; i++) {
      const ms = await timedGet(`${coderd.url}${path}`, headers);
      if (i > 0) times.push(ms);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const target = name.startsWith("page ") ? "< 300 ms" : name === "stats" || name === "top_denied" ? "≤ 100 ms p95" : undefined;
    figures.push({ ...summarize(`queries.${name}.p50`, "ms", "lower", [median(times)], params), target });
    figures.push({ ...summarize(`queries.${name}.p95`, "ms", "lower", [percentile(sorted, 95)], params), target });
    o.log?.(`${name.padEnd(48)} p50 ${median(times).toFixed(1).padStart(7)}  p95 ${percentile(sorted, 95).toFixed(1).padStart(7)} ms`);
  }
  return figures;
}

type LoadMode = "none" | "paced" | "back_to_back";

/** Queries stats and top-denied in a loop until stopped: `perSecond` of them, or back to back when 0. */
function queryLoad(url: string, perSecond: number): { stop(): Promise<number[]> } {
  let stopped = false;
  const times: number[] = [];
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const due = performance.now() + (perSecond ? 1000 / perSecond : 0);
      times.push(await timedGet(`${url}${LOAD_PATHS[i % LOAD_PATHS.length]}`, auth));
      if (perSecond) await sleep(Math.max(0, due - performance.now()));
    }
  })();
  return { stop: async () => ((stopped = true), await loop, times) };
}

/** One coderd-ingest run (4 RPC clients): records/s. */
async function rpcIngest(coderd: RunningCoderd, batches: number): Promise<number> {
  const args = [join(import.meta.dir, "rpc-load.ts"), "--url", coderd.url, "--token", TOKEN, "--clients", String(RPC_CLIENTS), "--batches", String(batches)];
  const load = start(process.execPath, args, ["pipe", "pipe", "inherit"]);
  const records = Number((await waitForLine(load.child, (l) => l.startsWith("ready "))).split(" ")[1]);
  const t0 = performance.now();
  const done = waitForLine(load.child, (l) => l.startsWith("{"), 600_000);
  load.child.stdin!.write("go\n");
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await load.stop();
  return records / seconds;
}

/** One end-to-end run (writer → agent → coderd, until coderd counted every record): records/s. */
async function e2eIngest(coderd: RunningCoderd, agentSocket: string): Promise<number> {
  const writer = await startWriter(agentSocket, ["--sessions", String(E2E_SESSIONS), "--records", String(E2E_RECORDS), "--unique"]);
  const ingested = counter(coderd.port, INGESTED);
  const base = await ingested();
  const t0 = performance.now();
  const wrote = writer.go();
  const t1 = await waitForCount(ingested, base + writer.records, 300_000, "queries e2e: records committed by coderd");
  await wrote;
  return writer.records / ((t1 - t0) / 1000);
}

async function ingestUnderQueries(coderd: RunningCoderd, o: QueriesBenchOptions): Promise<Figure[]> {
  const agent = await startAgent(coderdOutputArgs(coderd.url));
  const modes: LoadMode[] = ["none", "paced", "back_to_back"];
  const rates: Record<string, number[]> = {};
  const queryTimes: Record<string, number[]> = { paced: [], back_to_back: [] };
  try {
    for (let r = 0; r < o.repeats; r++) {
      for (const kind of ["coderd", "e2e"] as const) {
        for (const mode of modes) {
          const load = mode === "none" ? null : queryLoad(coderd.url, mode === "paced" ? QUERY_RATE : 0);
          const rate = kind === "coderd" ? await rpcIngest(coderd, o.batches) : await e2eIngest(coderd, agent.socket);
          if (load) queryTimes[mode]!.push(...(await load.stop()));
          (rates[`${kind}.${mode}`] ??= []).push(rate);
          o.log?.(`ingest ${kind} queries=${mode}: ${Math.round(rate)} records/s`);
        }
      }
    }
  } finally {
    await agent.close();
  }
  const params = {
    records_before: o.records, coderd_clients: RPC_CLIENTS, coderd_batches: o.batches, e2e_sessions: E2E_SESSIONS, e2e_records: E2E_RECORDS,
    query_load: `stats and top-denied alternately, ${QUERY_RATE}/s (paced) or back to back, one client`,
  };
  const figures: Figure[] = [];
  for (const kind of ["coderd", "e2e"] as const) {
    const none = median(rates[`${kind}.none`]!);
    for (const mode of modes) {
      figures.push(summarize(`queries.ingest_${kind}.queries_${mode}`, "records/s", "higher", rates[`${kind}.${mode}`]!, params));
      if (mode !== "none") {
        const ratios = rates[`${kind}.${mode}`]!.map((x) => x / none);
        figures.push({ ...summarize(`queries.ingest_${kind}.queries_${mode}.ratio`, "×", "higher", ratios, params), target: "≥ 0.9" });
      }
    }
  }
  for (const mode of ["paced", "back_to_back"] as const) {
    const sorted = [...queryTimes[mode]!].sort((a, b) => a - b);
    figures.push(summarize(`queries.under_ingest.${mode}.p95`, "ms", "lower", [percentile(sorted, 95)], { ...params, queries: sorted.length }));
  }
  return figures;
}

/** Seeds (unless `o.db` exists), starts coderd on the file and measures; removes what it made. */
export async function queriesBench(o: QueriesBenchOptions): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), "bench-queries-"));
  const db = o.db ?? join(dir, "coderd.db");
  const figures: Figure[] = [];
  try {
    if (!existsSync(db)) {
      const seeded = await seedBySql(db, {
        records: o.records, spanMs: SPAN_MS, now: Date.now(),
        onProgress: (n) => o.log?.(`seeded ${n} of ${o.records} records`),
      });
      o.log?.(`seeded in ${seeded.insertSeconds.toFixed(1)} s; migration 5 (rollup back-fill) took ${seeded.migrateSeconds.toFixed(1)} s`);
      figures.push(summarize("queries.rollup_backfill", "s", "lower", [seeded.migrateSeconds], { records: o.records }));
    }
    const coderd = await startCoderd(join(dir, "coderd.log"), ["--admin-token", ADMIN], `sqlite:${db}`);
    try {
      figures.push(...(await latencies(coderd, o)));
      if (o.repeats > 0) figures.push(...(await ingestUnderQueries(coderd, o)));
    } finally {
      await coderd.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      records: { type: "string", default: "10000000" }, runs: { type: "string", default: "20" },
      repeats: { type: "string", default: "3" }, batches: { type: "string", default: "200" }, db: { type: "string" },
    },
  });
  const figures = await queriesBench({
    records: Number(values.records), runs: Number(values.runs), repeats: Number(values.repeats), batches: Number(values.batches),
    db: values.db, log: (line) => console.error(line),
  });
  console.log(`\n${table(figures)}\n`);
}
