// Delivery figures with the compiled binary in both roles (not a test):
//  1. throughput agent → coderd → SQLite (spool on, default fsync policy)
//     under a saturating `boundary-relay send` load: records/s from the
//     first record sent until the store holds them all;
//  2. drain time of a backlog: the agent takes N records while coderd is
//     down, then coderd starts; time until the store holds all N.
//
//   bun bench/delivery.ts [--throughput N] [--backlog N] [--sessions S]
//   (defaults 200000, 1000000, 8; BOUNDARY_RELAY_BIN picks the binary,
//    else dist/boundary-relay, built when missing or stale)
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startCli } from "../test/helpers/cli.ts";
import { settled, until } from "../test/helpers/until.ts";
import {
  A, binary, coderdPaths, freePort, metric, type Proc, scrape, startAgent, startCoderd, storedRows, } from "../test/e2e/harness.ts";
import { tempDir } from "../test/helpers/temp.ts";

const { values } = parseArgs({
  options: { throughput: { type: "string", default: "200000" }, backlog: { type: "string", default: "1000000" }, sessions: { type: "string", default: "8" } },
});
const THROUGHPUT_N = Number(values.throughput);
const BACKLOG_N = Number(values.backlog);
const SESSIONS = Number(values.sessions);

const procs = new Set<Proc>();
const dirs: Array<() => void> = [];
async function cleanup(): Promise<void> {
  for (const p of procs) await p.stop("SIGKILL");
  for (const c of dirs) c();
}

/** `boundary-relay send --count N` as fast as the socket takes it; resolves with its wall time. */
async function send(socket: string, count: number): Promise<number> {
  process.env.BOUNDARY_RELAY_BIN = binary();
  const started = performance.now();
  const child = startCli(["send", "--socket", socket, "--count", String(count), "--sessions", String(SESSIONS), "--flush-interval", "50ms"]);
  child.proc.stdin.end();
  const code = await child.exited;
  if (code !== 0) throw new Error(`send exited ${code}: ${child.stderr()}`);
  return performance.now() - started;
}

async function setup(name: string) {
  const { dir, cleanup: rm } = tempDir(`br-bench-${name}-`);
  dirs.push(rm);
  return { paths: coderdPaths(dir), agentPaths: { socket: join(dir, "boundary-audit.sock"), spoolDir: join(dir, "spool") } };
}

async function waitForStore(db: string, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (storedRows(db) < n) {
    if (Date.now() > deadline) throw new Error(`store has ${storedRows(db)} of ${n} records after ${timeoutMs} ms`);
    await Bun.sleep(250);
  }
}

async function throughput(): Promise<void> {
  const { paths, agentPaths } = await setup("throughput");
  const coderd = await startCoderd(paths);
  procs.add(coderd);
  const agent = await startAgent(agentPaths, coderd.port);
  procs.add(agent);
  const t0 = performance.now();
  const sendMs = await send(agentPaths.socket, THROUGHPUT_N);
  // A saturating load may overflow the agent's queue (buffer_full): those are counted, not delivered.
  const m = await settled(() => scrape(agent.port), (m) => metric(m, `${A}records_received_total`) >= THROUGHPUT_N, { timeoutMs: 60_000, intervalMs: 200 });
  const dropped = metric(m, `${A}logs_dropped_total{reason="spool_full"}`) + metric(m, `${A}logs_dropped_total{reason="buffer_full"}`);
  const want = metric(m, `${A}records_received_total`) - dropped;
  await waitForStore(paths.db, want, 600_000);
  const total = performance.now() - t0;
  console.log(
    `throughput: ${THROUGHPUT_N} records sent by ${SESSIONS} sessions in ${(sendMs / 1000).toFixed(1)} s ` +
      `(${Math.round(THROUGHPUT_N / (sendMs / 1000))} records/s into the socket); ${want} stored after ${(total / 1000).toFixed(1)} s = ` +
      `${Math.round(want / (total / 1000))} records/s end to end; agent received ${metric(m, `${A}records_received_total`)}, dropped ${dropped} (buffer_full/spool_full)`,
  );
  await agent.stop();
  await coderd.stop();
}

async function backlog(): Promise<void> {
  const { paths, agentPaths } = await setup("backlog");
  const port = await freePort();
  const agent = await startAgent(agentPaths, port, ["--spool-max-bytes", "4GiB", "--retry-max", "1s", "--queue-max-records", "2000000", "--queue-max-bytes", "2GiB"]);
  procs.add(agent);
  const t0 = performance.now();
  await send(agentPaths.socket, BACKLOG_N);
  await until(async () => {
    const m = await scrape(agent.port);
    return metric(m, `${A}records_received_total`) >= BACKLOG_N && metric(m, `${A}queue_records`) === 0;
  }, { what: "the agent to spool the backlog", timeoutMs: 600_000, intervalMs: 200 });
  const spooled = performance.now() - t0;
  const m = await scrape(agent.port);
  const dropped = metric(m, `${A}logs_dropped_total{reason="spool_full"}`) + metric(m, `${A}logs_dropped_total{reason="buffer_full"}`);
  if (dropped > 0) throw new Error(`${dropped} records dropped while spooling the backlog`);
  const t1 = performance.now();
  const coderd = await startCoderd(paths, port);
  procs.add(coderd);
  await waitForStore(paths.db, BACKLOG_N, 1_800_000);
  const drain = performance.now() - t1;
  console.log(
    `backlog: ${BACKLOG_N} records spooled in ${(spooled / 1000).toFixed(1)} s (${(metric(m, `${A}spool_bytes`) / 2 ** 20).toFixed(0)} MiB of spool); ` +
      `after coderd started, stored in ${(drain / 1000).toFixed(1)} s = ${Math.round(BACKLOG_N / (drain / 1000))} records/s`,
  );
  await agent.stop();
  await coderd.stop();
}

try {
  console.log(`binary ${binary()}`);
  if (THROUGHPUT_N > 0) await throughput();
  if (BACKLOG_N > 0) await backlog();
} finally {
  await cleanup();
}
