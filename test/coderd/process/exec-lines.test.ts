// coderd's exec lines come from the store (a cursor in
// process_consumer_cursors), not from the request, and retention applies to
// exec records: a record committed by a coderd that died before printing is
// printed by the next start; a failed stderr write is retried, the cursor
// kept; retention deletes old exec records once printed, and counts them.
import { afterEach, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { type ProcessExec, ProcessExecSchema, ReportProcessLogsRequestSchema } from "../../../src/gen/boundaryrelay/v1/process_pb.ts";
import { SqliteProcessLogStore } from "../../../src/coderd/process/store.ts";
import { startCoderd } from "../../../src/coderd/server.ts";
import { type CoderdConfig, coderdOptions } from "../../../src/config/coderd.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { createIngestClient } from "../../../src/rpc/index.ts";
import { AGENT_A, ADMIN, startTestServer, STORE_IDENTITY, TestClock, type TestServer } from "../helpers.ts";
import { readMetric } from "../../helpers/metrics.ts";
import { tempDir } from "../../helpers/temp.ts";
import { until } from "../../helpers/until.ts";

const BOOT = "86ce15cf-80a2-4b5e-831f-4743ffd37b5f";
const T0 = 1765227526093;

const exec = (pid: number, argv: string[]): ProcessExec =>
  create(ProcessExecSchema, {
    time: timestampFromMs(T0 + pid), monotonicNs: BigInt(pid) * 1000n, pid, ppid: 1, uid: 0, gid: 0,
    filename: `/bin/${argv[0]}`, argv, comm: argv[0], cmdline: argv.join(" "),
  });

const execLines = (s: TestServer) => s.writes.join("").split("\n").filter((l) => l.includes('"msg":"exec"'));

let server: TestServer | null = null;
let dir: string | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe("exec lines from the store", () => {
  test("an exec committed by a coderd that died before printing it is printed at the next start, once", async () => {
    dir = tempDir("br-exec-lines-").dir;
    // What a coderd killed between its commit and its write leaves behind.
    const store = await SqliteProcessLogStore.open(join(dir, "coderd.db"));
    await store.insertExecs({ identity: STORE_IDENTITY, bootId: BOOT, capturedAt: new Date(), execs: [exec(41, ["uname", "-a"]), exec(42, ["true", "x"])] });
    await store.close();
    server = await startTestServer(["--log-format", "json"], { dir });
    await server.server.linesWritten();
    const lines = execLines(server).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.fields.cmdline)).toEqual(["uname -a", "true x"]);
    expect(lines[0].fields.labels).toMatchObject({ workspace_id: STORE_IDENTITY.workspaceId, workspace_name: "alice-dev", username: "alice" });
    expect(await readMetric(server.server.url, "coderd_process_lines_written_total")).toBe(2);
    // A restart owes nothing more: the cursor moved.
    await server.server.stop();
    server = await startTestServer(["--log-format", "json"], { dir });
    await server.server.linesWritten();
    expect(execLines(server)).toHaveLength(0);
  });

  test("a failed stderr write keeps the cursor: the lines are written on the retry, and the failure counted", async () => {
    let failures = 1;
    const writes: string[] = [];
    dir = tempDir("br-exec-lines-").dir;
    server = await startTestServer(["--log-format", "json"], { dir });
    // A coderd on the test server's database and agents whose stderr fails once.
    const { config } = loadConfig<CoderdConfig>(coderdOptions({ HOME: dir }), {
      argv: ["--agents-file", server.agentsFile, "--db", `sqlite:${server.dbPath}`, "--http-listen", "127.0.0.1:0", "--log-format", "json"],
      env: { HOME: dir },
    });
    await server.server.stop();
    server = null;
    const flaky = await startCoderd({
      config,
      stderr: (chunk) => {
        if (chunk.includes('"msg":"exec"') && failures-- > 0) throw new Error("EPIPE");
        writes.push(chunk);
      },
    });
    try {
      await createIngestClient({ baseUrl: flaky.url, token: AGENT_A.token }).reportProcessLogs(create(ReportProcessLogsRequestSchema, { bootId: BOOT, execs: [exec(7, ["ls"])] }));
      await until(() => writes.join("").includes('"cmdline":"ls"'), { timeoutMs: 5_000, what: "the retried line" });
      expect(writes.join("").split("\n").filter((l) => l.includes('"cmdline":"ls"'))).toHaveLength(1);
      expect(await readMetric(flaky.url, "coderd_process_line_write_failures_total")).toBe(1);
    } finally {
      await flaky.stop();
    }
  });
});

describe("retention of exec records", () => {
  test("the timer deletes exec records captured before now - retention, and counts them", async () => {
    const clock = new TestClock(T0);
    server = await startTestServer(["--retention", "1h", "--retention-interval", "50ms"], { now: clock.now });
    await server.client().reportProcessLogs(create(ReportProcessLogsRequestSchema, { bootId: BOOT, execs: [exec(1, ["old"]), exec(2, ["old"])] }));
    clock.advance(30 * 60_000);
    await server.client().reportProcessLogs(create(ReportProcessLogsRequestSchema, { bootId: BOOT, execs: [exec(3, ["new"])] }));
    clock.advance(31 * 60_000);
    const remaining = async () => {
      const res = await fetch(`${server!.server.url}/api/v2/process/logs`, { headers: { Authorization: `Bearer ${ADMIN}` } });
      return ((await res.json()) as { execs: { argv: string[] }[] }).execs;
    };
    await until(async () => (await remaining()).length === 1, { timeoutMs: 15_000, what: "the purge" });
    expect((await remaining())[0]!.argv).toEqual(["new"]);
    expect(await readMetric(server.server.url, "coderd_process_execs_purged_total")).toBe(2);
  });
});
