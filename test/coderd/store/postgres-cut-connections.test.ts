// A PostgreSQL connection cut under a query (pg_terminate_backend, as an
// administrator, an idle-session killer or a pooler's restart would) must
// cost that query at most: the call fails or answers, the next one gets a
// new connection, and the process lives on. Never a call that does not
// settle: the line emitter waits for each of its calls, so one that hangs
// stops a replica's lines for good (seen in the e2e suite: 2,000 of 20,000
// lines, then nothing). postgres.js 3.4.9 hangs exactly so (within seconds
// with named prepared statements, within a few cuts without), and leaves
// rejections of its own unhandled, which end a Bun process: the store gives
// every call a deadline and replaces a pool that missed it, and ignores
// unhandled lost-connection rejections (postgres-pools.ts). And a cut must
// not leave the pool failing in another way: one cut during the driver's
// fetch of the array types once made every later insert a "malformed array
// literal" (seen 2026-12-04), so every failure here must be a lost
// connection or a deadline. The scenario runs as its own process
// (fixtures/cut-connections.ts), as coderd would.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { freshDatabase, PG_TEST_TIMEOUT_MS, pgCluster, postgresAvailable } from "../../helpers/postgres.ts";

/** How a call fails when its connection is cut, or it hangs past the deadline. */
const LOST_CONNECTION = /ECONNRESET|EPIPE|ECONNREFUSED|CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|terminating connection due to administrator command|no answer from PostgreSQL within/;

describe.skipIf(!postgresAvailable())("PostgreSQL connections cut under a query", () => {
  test("runPg on the lines' one-connection pool: every call settles and the process lives, while its backend is terminated again and again", async () => {
    const db = await freshDatabase("cut");
    const run = spawnSync(process.execPath, [join(import.meta.dir, "fixtures", "cut-connections.ts"), db, pgCluster().url("postgres")], {
      encoding: "utf8", timeout: 60_000,
    });
    const last = run.stdout.trim().split("\n").at(-1) ?? "";
    if (run.status !== 0 || !last.startsWith("{")) throw new Error(`the scenario ended with ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    const r = JSON.parse(last) as {
      answered: number; failed: number; late: number; hung: number; cuts: number; longestOutageMs: number; countTries: number; storedAfter: number;
      errors: Record<string, number>;
    };
    console.log(`cut connections: ${JSON.stringify(r)}`);
    expect(r.hung).toBe(0);
    // No rejection of the driver's own went unhandled to the runtime (which prints it, and may end the process).
    expect(run.stderr).not.toMatch(/PostgresError|CONNECTION_(CLOSED|ENDED|DESTROYED)|ECONNRESET/);
    expect(r.cuts).toBeGreaterThan(5);
    expect(r.failed).toBeGreaterThan(0);
    // Every failure is the cut itself (or a call past its deadline), never the pool going wrong after
    // one: a pool whose array types were lost with a cut once refused every insert ("malformed array literal").
    expect(Object.keys(r.errors).filter((kind) => !LOST_CONNECTION.test(kind))).toEqual([]);
    // A cut costs the calls on that connection, and the next ones get a new one: between cuts the pool
    // answers. (How many calls fail says little: a failure can come back in a millisecond, an insert
    // takes longer. longestOutageMs, printed above, is the longest run of failures, for reading.)
    expect(r.answered).toBeGreaterThan(r.cuts);
    // Once the cutting stops the pool answers: at once, or after one call on a connection the last cut left dead.
    expect(r.countTries).toBeLessThanOrEqual(2);
    // Every answered insert is there (a failed one may be too).
    expect(r.storedAfter).toBeGreaterThanOrEqual(r.answered);
  }, PG_TEST_TIMEOUT_MS + 60_000);
});
