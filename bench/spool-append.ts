// Spool append throughput: appends one-record batches (the agent's usual
// shape under load) to a fresh spool in a temp dir with fsync "never" and
// "interval", 8 appends outstanding as the queue keeps them, while a reader
// hands out and acknowledges entries as the forwarder would. Prints
// appends/s per policy. Usage: bun bench/spool-append.ts [appends]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { createAgentMetrics } from "../src/agent/metrics.ts";
import { Spool, type FsyncPolicy } from "../src/agent/spool/spool.ts";

const APPENDS = Number(process.argv[2] ?? 200_000);
const OUTSTANDING = 8;
const body = new Uint8Array(180).fill(7); // about one encoded record

async function run(fsync: FsyncPolicy, appends: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "spool-append-"));
  const spool = await Spool.open({
    dir, maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync, fsyncIntervalMs: 5,
    metrics: createAgentMetrics(new Registry()), log: () => {},
  });
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      const e = await spool.next();
      if (e) spool.ack(e);
      else await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const start = performance.now();
  let issued = 0;
  const lanes = Array.from({ length: OUTSTANDING }, async () => {
    while (issued < appends) {
      issued++;
      if (!(await spool.append(body, 1))) throw new Error("append dropped");
    }
  });
  await Promise.all(lanes);
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  await reader;
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
  return appends / seconds;
}

for (const fsync of ["never", "interval"] as const) {
  // interval waits for a group fsync per append (8 outstanding): a tenth as many appends.
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) rates.push(await run(fsync, fsync === "interval" ? APPENDS / 10 : APPENDS));
  rates.sort((a, b) => a - b);
  console.log(`spool append, fsync ${fsync}: median ${Math.round(rates[1]!)} appends/s (runs: ${rates.map(Math.round).join(", ")})`);
}
