// Several coderd replicas on one PostgreSQL (issue #14, "Done when"): two
// compiled coderd replicas, three compiled agents each given both replicas
// (--coderd-url a,b, in different orders), 100,000 records written into the
// agents' sockets, and replica A SIGKILLed mid-stream, then restarted on its
// port. Every record must be stored exactly once, and every stored record
// must have its boundary_request line on the stderr of some replica (A's
// two lives and B counted together): a line repeated after the crash is
// allowed and counted, a missing one fails the test. Records keep arriving
// while A is dead (the agents fail over to B).
import { afterAll, describe, expect, test } from "bun:test";
import { emittedCounts, freePort, keyOf, type Proc } from "./harness.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";
import { explainMissingLines, feed, pgStoredCounts, pgStoredRows, startFleetAgent, startPgCoderd, writeFleetAgents } from "./pg-fleet.ts";
import { freshDatabase, postgresAvailable } from "../helpers/postgres.ts";

const TOTAL = 100_000;
const AGENTS = 3;
const sessionOf = (i: number) => `60000000-0000-4000-8000-00000000000${i}`;
const share = (i: number) => Math.floor(TOTAL / AGENTS) + (i < TOTAL % AGENTS ? 1 : 0);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!postgresAvailable())("two coderd replicas on one PostgreSQL, one SIGKILLed mid-stream", () => {
  test("100,000 records from three agents: each stored exactly once, each with its line; failover while a replica is dead", async () => {
    const { dir, cleanup } = tempDir("br-pg-replicas-");
    cleanups.push(cleanup);
    const db = await freshDatabase("replicas");
    const agentsFile = writeFleetAgents(dir, AGENTS);
    const portA = await freePort();
    const lives: Proc[] = [];
    const replica = async (port: number) => {
      const p = await startPgCoderd(db, agentsFile, port);
      lives.push(p);
      cleanups.push(() => p.stop());
      return p;
    };
    const a = await replica(portA);
    const b = await replica(0);
    const urlA = `http://127.0.0.1:${a.port}`;
    const urlB = `http://127.0.0.1:${b.port}`;
    const agents = [];
    for (let i = 0; i < AGENTS; i++) {
      const agent = await startFleetAgent(dir, i, i % 2 === 0 ? `${urlA},${urlB}` : `${urlB},${urlA}`);
      cleanups.push(() => agent.stop());
      agents.push(agent);
    }

    const fed = new Array<number>(AGENTS).fill(0);
    const total = () => fed.reduce((x, y) => x + y, 0);
    let killedAt = -1;
    let storedWhileDead = -1;
    let restart: Promise<unknown> | null = null;
    const onProgress = (i: number) => async (n: number) => {
      fed[i] = n;
      if (killedAt < 0 && total() >= TOTAL * 0.4) {
        killedAt = total();
        a.child.kill("SIGKILL");
        restart = (async () => {
          await a.child.exited;
          const before = await pgStoredRows(db);
          // Records keep arriving through B while A is dead.
          await until(async () => (await pgStoredRows(db)) > before + 1000, { what: "records stored through B while A is dead", timeoutMs: 60_000, intervalMs: 250 });
          storedWhileDead = (await pgStoredRows(db)) - before;
          await replica(portA);
        })();
      }
    };
    await Promise.all(agents.map((agent, i) => feed(agent.socket, sessionOf(i), share(i), { pauseMs: 10, onProgress: onProgress(i) })));
    expect(killedAt).toBeGreaterThan(0);
    await restart;
    expect(storedWhileDead).toBeGreaterThan(1000);

    await until(async () => (await pgStoredRows(db)) >= TOTAL, { what: "every record stored", timeoutMs: 240_000, intervalMs: 1000 });
    const stored = await pgStoredCounts(db);
    expect(stored.size).toBe(TOTAL);
    expect([...stored.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    for (let i = 0; i < AGENTS; i++) {
      for (let seq = 0; seq < share(i); seq++) {
        if (!stored.has(keyOf(sessionOf(i), seq))) throw new Error(`record ${keyOf(sessionOf(i), seq)} was never stored`);
      }
    }

    // Each replica's output apart: a SIGKILLed one may have died inside a line.
    const lines = () => {
      const all = new Map<string, number>();
      for (const p of lives) for (const [key, n] of emittedCounts(p.child.stderr())) all.set(key, (all.get(key) ?? 0) + n);
      return all;
    };
    await until(() => lines().size >= TOTAL, { what: "a line for every stored record", timeoutMs: 120_000, intervalMs: 1000 }).catch(async (err) => {
      console.log(await explainMissingLines(db, lives));
      throw err;
    });
    const counted = lines();
    const missing = [...stored.keys()].filter((k) => !counted.has(k));
    expect(missing).toEqual([]);
    const repeated = [...counted.values()].filter((n) => n > 1).length;
    console.log(`replicas e2e: killed A after ${killedAt} records fed; ${storedWhileDead} stored through B meanwhile; ` +
      `${counted.size} records with a line, ${repeated} of them printed more than once (allowed after a crash)`);
    for (const p of lives.slice(1)) expect(p.child.proc.exitCode).toBeNull();
  }, 600_000);
});
