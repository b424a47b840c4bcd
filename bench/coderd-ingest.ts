// coderd ingest alone: records/s from 4 concurrent RPC clients
// (bench/rpc-load.ts, its own process; binary Connect, 1000-record batches)
// into SQLite, with emission to a file and "without" it. coderd has no
// switch to turn emission off, so "without" is stderr → /dev/null: lines are
// still formatted, only the write costs nothing.
import { join } from "node:path";
import { cpuSeconds, start, waitForLine } from "./lib/proc.ts";
import { startCoderd, TOKEN } from "./lib/stack.ts";
import { type Figure, repeatMany } from "./lib/stats.ts";

const CLIENTS = 4;

export async function coderdIngestBench(repeats: number, scale: number): Promise<Figure[]> {
  const batches = Math.round(300 * scale);
  const figures: Figure[] = [];
  for (const [label, stderr] of [["emit_file", join(process.env.TMPDIR ?? "/tmp", `bench-coderd-${process.pid}.log`)], ["emit_devnull", "null"]] as const) {
    const p = `coderd.${label}`;
    const coderd = await startCoderd(stderr);
    try {
      figures.push(
        ...(await repeatMany(
          repeats,
          { [p]: { unit: "records/s", better: "higher" }, [`${p}.coderd_cpu`]: { unit: "% core", better: "lower" } },
          async () => {
            const args = [join(import.meta.dir, "rpc-load.ts"), "--url", coderd.url, "--token", TOKEN, "--clients", String(CLIENTS), "--batches", String(batches)];
            const load = start(process.execPath, args, ["pipe", "pipe", "inherit"]);
            const records = Number((await waitForLine(load.child, (l) => l.startsWith("ready "))).split(" ")[1]);
            const cpu0 = cpuSeconds(coderd.proc.pid);
            const t0 = performance.now();
            const done = waitForLine(load.child, (l) => l.startsWith("{"), 600_000);
            load.child.stdin!.write("go\n");
            await done;
            const seconds = (performance.now() - t0) / 1000;
            const cpu = ((cpuSeconds(coderd.proc.pid) - cpu0) / seconds) * 100;
            await load.stop();
            return { [p]: records / seconds, [`${p}.coderd_cpu`]: cpu };
          },
          { clients: CLIENTS, batches, records_per_batch: 1000, protocol: "connect unary, application/proto", stderr: label === "emit_file" ? "file" : "/dev/null (still formatted)" },
        )),
      );
    } finally {
      await coderd.close();
    }
  }
  return figures;
}
