// Exec records on PostgreSQL: two compiled coderd replicas on one database
// take ReportProcessLogs as on SQLite. Each exec is stored once whichever
// replica gets it and however often the agent re-sends it, each stored exec
// gets its exec line from some replica, and /api/v2/process/logs on either
// replica lists them with their argv.
import { afterAll, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ProcessExecSchema, ReportProcessLogsRequestSchema } from "../../src/gen/boundaryrelay/v1/process_pb.ts";
import { createIngestClient } from "../../src/rpc/ingest-client.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";
import { freshDatabase, postgresAvailable } from "../helpers/postgres.ts";
import { ADMIN, agentToken, startPgCoderd, writeFleetAgents } from "./pg-fleet.ts";

const BOOT = "86ce15cf-80a2-4b5e-831f-4743ffd37b5f";
const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const EXECS = 300;

const execOf = (i: number) =>
  create(ProcessExecSchema, {
    time: timestampFromMs(T0 + i), monotonicNs: BigInt(i) * 1000n, pid: 1000 + i, ppid: 1, uid: 1000, gid: 1000,
    filename: "/bin/true", argv: ["/bin/true", `run-${i}`], comm: "true", truncated: false, cmdline: `/bin/true run-${i}`,
  });

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!postgresAvailable())("exec records on PostgreSQL, two coderd replicas", () => {
  test("each exec stored once, each with its exec line from some replica, listed by either replica", async () => {
    const { dir, cleanup } = tempDir("br-pg-execs-");
    cleanups.push(cleanup);
    const db = await freshDatabase("execs");
    const agents = writeFleetAgents(dir, 1);
    const a = await startPgCoderd(db, agents);
    cleanups.push(() => a.stop());
    const b = await startPgCoderd(db, agents);
    cleanups.push(() => b.stop());
    const clients = [a, b].map((r) => createIngestClient({ baseUrl: `http://127.0.0.1:${r.port}`, token: agentToken(0), binary: true }));
    // Batches of 50 to alternating replicas; every batch sent twice, the second time to the other replica.
    for (let from = 0; from < EXECS; from += 50) {
      const req = create(ReportProcessLogsRequestSchema, { bootId: BOOT, execs: Array.from({ length: 50 }, (_, k) => execOf(from + k)) });
      await clients[(from / 50) % 2]!.reportProcessLogs(req);
      await clients[(from / 50 + 1) % 2]!.reportProcessLogs(req);
    }
    const linesOf = (text: string) => text.split("\n").filter((l) => / msg=exec | exec /.test(l) && l.includes("run-"));
    const printed = () => [...linesOf(a.child.stderr()), ...linesOf(b.child.stderr())];
    await until(() => new Set(printed().map((l) => /run-(\d+)/.exec(l)![1])).size === EXECS, { what: "an exec line for every exec", timeoutMs: 30_000, intervalMs: 100 });
    for (const replica of [a, b]) {
      const seen: string[] = [];
      let next = "";
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${replica.port}/api/v2/process/logs?limit=100${next}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
        expect(res.status).toBe(200);
        const page = (await res.json()) as { execs: { argv: string[] }[]; next_cursor: string | null };
        seen.push(...page.execs.map((e) => e.argv[1]!));
        if (!page.next_cursor) break;
        next = `&cursor=${encodeURIComponent(page.next_cursor)}`;
      }
      expect(seen.length).toBe(EXECS); // stored once each
      expect(new Set(seen)).toEqual(new Set(Array.from({ length: EXECS }, (_, i) => `run-${i}`)));
    }
    expect(a.child.proc.exitCode).toBeNull();
    expect(b.child.proc.exitCode).toBeNull();
  }, 120_000);
});
