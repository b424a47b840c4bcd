// coderd ingest into PostgreSQL next to SQLite: records/s from 4 concurrent
// RPC clients (bench/rpc-load.ts, 1000-record batches, every batch a new
// session) into one coderd on SQLite, one coderd on PostgreSQL, and two
// coderd replicas on one PostgreSQL (clients split between them). Lines go
// to /dev/null (still formatted and, for PostgreSQL, claimed and advanced).
// The PostgreSQL cluster is a throw-away one started here as in the tests
// (test/helpers/postgres.ts), with fsync ON (durable: true), on this same
// machine, so client, coderd(s) and PostgreSQL share its cores.
import { join } from "node:path";
import { freshDatabase, startPgCluster } from "../test/helpers/postgres.ts";
import { cpuSeconds, start, waitForLine } from "./lib/proc.ts";
import { type RunningCoderd, startCoderd, TOKEN } from "./lib/stack.ts";
import { type Figure, repeatMany } from "./lib/stats.ts";

const CLIENTS = 4;

async function measure(name: string, urls: string[], coderds: RunningCoderd[], batches: number): Promise<Record<string, number>> {
  const args = [join(import.meta.dir, "rpc-load.ts"), "--url", urls.join(","), "--token", TOKEN, "--clients", String(CLIENTS), "--batches", String(batches)];
  const load = start(process.execPath, args, ["pipe", "pipe", "inherit"]);
  const records = Number((await waitForLine(load.child, (l) => l.startsWith("ready "))).split(" ")[1]);
  const cpu0 = coderds.map((c) => cpuSeconds(c.proc.pid));
  const t0 = performance.now();
  const done = waitForLine(load.child, (l) => l.startsWith("{"), 600_000);
  load.child.stdin!.write("go\n");
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = coderds.reduce((sum, c, i) => sum + (cpuSeconds(c.proc.pid) - cpu0[i]!), 0) / seconds * 100;
  await load.stop();
  return { [name]: records / seconds, [`${name}.coderd_cpu`]: cpu };
}

export async function postgresIngestBench(repeats: number, scale: number): Promise<Figure[]> {
  const batches = Math.round(200 * scale);
  const cluster = startPgCluster({ durable: true });
  const figures: Figure[] = [];
  const params = { clients: CLIENTS, batches, records_per_batch: 1000, stderr: "/dev/null (still formatted)", postgres: "local throw-away cluster, fsync on" };
  const cases: [string, () => Promise<RunningCoderd[]>][] = [
    ["store.sqlite", async () => [await startCoderd("null")]],
    ["store.postgres_1_replica", async () => {
      const db = await freshDatabase("bench", cluster);
      return [await startCoderd("null", [], db)];
    }],
    ["store.postgres_2_replicas", async () => {
      const db = await freshDatabase("bench", cluster);
      return [await startCoderd("null", [], db), await startCoderd("null", [], db)];
    }],
  ];
  try {
    for (const [name, startAll] of cases) {
      const coderds = await startAll();
      try {
        figures.push(...(await repeatMany(
          repeats,
          { [name]: { unit: "records/s", better: "higher" }, [`${name}.coderd_cpu`]: { unit: "% core", better: "lower" } },
          () => measure(name, coderds.map((c) => c.url), coderds, batches),
          { ...params, replicas: coderds.length },
        )));
      } finally {
        for (const c of coderds) await c.close();
      }
    }
  } finally {
    cluster.stop();
  }
  return figures;
}
