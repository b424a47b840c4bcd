// Group commit in the compiled coderd: concurrent ingest requests share
// transactions (store_commits_total below the batches committed), and an
// acknowledgement still means committed: a coderd killed with SIGKILL in the
// middle of that load has every record it acknowledged in its SQLite file.
import { afterEach, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { BoundaryLogSchema, ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { createIngestClient } from "../../src/rpc/index.ts";
import { AGENT_TOKEN, coderdPaths, keyOf, metric, scrape, startCoderd, storedCounts } from "./harness.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const CLIENTS = 16;
const PER_BATCH = 200;
const sessionOf = (client: number) => `50000000-0000-4000-8000-${String(client).padStart(12, "0")}`;

function request(client: number, firstSeq: number) {
  return create(ReportBoundaryLogsRequestSchema, {
    sessionId: sessionOf(client),
    confinedProcessName: "e2e",
    logs: Array.from({ length: PER_BATCH }, (_, i) =>
      create(BoundaryLogSchema, {
        allowed: i % 2 === 0,
        sequenceNumber: firstSeq + i,
        time: timestampFromMs(1765227526093 + i),
        resource: { case: "httpRequest", value: { method: "GET", url: `https://g${client}.example/${firstSeq + i}`, matchedRule: "" } },
      })),
  });
}

describe("group commit (compiled coderd)", () => {
  test("every record acknowledged before a SIGKILL is in the file, and concurrent batches shared transactions", async () => {
    const { dir, cleanup } = tempDir("br-group-commit-");
    cleanups.push(cleanup);
    const paths = coderdPaths(dir);
    const coderd = await startCoderd(paths);
    cleanups.push(async () => void (await coderd.stop("SIGKILL")));
    const client = createIngestClient({ baseUrl: `http://127.0.0.1:${coderd.port}`, token: AGENT_TOKEN });

    const acked: string[] = [];
    let killed = false;
    const sender = async (c: number) => {
      for (let seq = 0; !killed; seq += PER_BATCH) {
        try {
          await client.reportBoundaryLogs(request(c, seq));
        } catch {
          return; // the kill: nothing acknowledged from here on
        }
        if (!killed) for (let i = 0; i < PER_BATCH; i++) acked.push(keyOf(sessionOf(c), seq + i));
      }
    };
    const senders = Array.from({ length: CLIENTS }, (_, c) => sender(c));
    await until(() => acked.length >= 40_000, { what: "acknowledged records", timeoutMs: 60_000, intervalMs: 20 });

    const m = await scrape(coderd.port);
    const commits = metric(m, "coderd_boundary_store_commits_total");
    const batches = metric(m, "coderd_boundary_store_batches_committed_total");
    expect(batches).toBeGreaterThanOrEqual(200);
    expect(commits).toBeLessThan(batches); // some transactions held several batches

    // An acknowledgement recorded before this line was answered before the kill.
    const ackedBeforeKill = acked.slice();
    killed = true;
    await coderd.stop("SIGKILL");
    await Promise.all(senders);

    const stored = storedCounts(paths.db);
    const missing = ackedBeforeKill.filter((k) => stored.get(k) !== 1);
    expect(missing.slice(0, 5)).toEqual([]);
    expect(ackedBeforeKill.length).toBeGreaterThanOrEqual(40_000);
  }, 90_000);
});
