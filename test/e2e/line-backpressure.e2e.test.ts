// coderd's boundary_request lines respect stderr backpressure (compiled
// binary): with stderr a FIFO nobody reads, ingest goes on (records are
// acknowledged and stored) while the lines wait in the store, not in
// coderd's memory (beyond the 20,000 records line-emitter.ts holds from the
// latest commits; this test stores 40,000): lines_written_total stays at
// what the pipe took. Once the FIFO is read, every stored record gets its line.
import { afterEach, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, createReadStream, openSync } from "node:fs";
import { join } from "node:path";
import { BoundaryLogSchema, ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { createIngestClient } from "../../src/rpc/index.ts";
import { AGENT_TOKEN, binary, coderdPaths, emittedCounts, freePort, metric, scrape, storedRows } from "./harness.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SESSION = "60000000-0000-4000-8000-000000000001";
const BATCHES = 40;
const PER_BATCH = 1000;

function request(firstSeq: number) {
  return create(ReportBoundaryLogsRequestSchema, {
    sessionId: SESSION,
    confinedProcessName: "e2e",
    logs: Array.from({ length: PER_BATCH }, (_, i) =>
      create(BoundaryLogSchema, {
        allowed: false,
        sequenceNumber: firstSeq + i,
        time: timestampFromMs(1765227526093 + i),
        resource: { case: "httpRequest", value: { method: "GET", url: `https://bp.example/${firstSeq + i}/${"p".repeat(100)}`, matchedRule: "" } },
      })),
  });
}

describe("line backpressure (compiled coderd)", () => {
  test("with stderr blocked, ingest goes on and lines wait in the store, not in memory; all are written once it drains", async () => {
    const { dir, cleanup } = tempDir("br-line-bp-");
    cleanups.push(cleanup);
    const paths = coderdPaths(dir);
    const fifo = join(dir, "stderr.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // Opened read-write so neither end blocks on open; nobody reads it yet.
    const holder = openSync(fifo, "r+");
    cleanups.push(() => closeSync(holder));
    const port = await freePort();
    const coderd = spawn(binary(), [
      "coderd", "--agents-file", paths.agentsFile, "--db", `sqlite:${paths.db}`, "--http-listen", `127.0.0.1:${port}`,
    ], { stdio: ["ignore", "ignore", holder] });
    cleanups.push(() => void coderd.kill("SIGKILL"));
    await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true, { what: "coderd to answer /healthz", timeoutMs: 30_000, intervalMs: 50 });

    const client = createIngestClient({ baseUrl: `http://127.0.0.1:${port}`, token: AGENT_TOKEN });
    for (let b = 0; b < BATCHES; b++) await client.reportBoundaryLogs(request(b * PER_BATCH));
    const stored = BATCHES * PER_BATCH;
    expect(storedRows(paths.db)).toBe(stored);

    // About 200 bytes a line: the pipe (64 KiB) takes a few hundred; a writer
    // that queued without waiting would have counted all 40,000 by now.
    await new Promise((r) => setTimeout(r, 500));
    const written = metric(await scrape(port), "coderd_boundary_lines_written_total");
    expect(written).toBeLessThanOrEqual(3 * 1000);

    // Now read the FIFO: every stored record gets its line.
    let text = "";
    const reader = createReadStream("", { fd: openSync(fifo, "r") });
    reader.on("data", (c) => (text += c.toString()));
    cleanups.push(() => void reader.destroy());
    const whole = () => text.slice(0, text.lastIndexOf("\n") + 1);
    await until(() => emittedCounts(whole()).size === stored, { what: "every line", timeoutMs: 60_000, intervalMs: 100 });
    expect(metric(await scrape(port), "coderd_boundary_lines_written_total")).toBeGreaterThanOrEqual(stored);
  }, 120_000);
});
