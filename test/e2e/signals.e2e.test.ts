// A supervisor may send SIGTERM the moment it reads a command's start-up
// line. The compiled agent and coderd must then stop as they always do
// (drain, "stopped", exit 0), never die of the signal's default action: the
// handlers are in place before the line is written. (They were registered
// just after it, and an agent signalled at once died of SIGTERM in 21 of 30
// runs, without draining.)
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Child } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { ADMIN_TOKEN, binary, coderdPaths, startBinaryChild } from "./harness.ts";

const tmp = tempDir("e2e-signals-");
afterAll(() => tmp.cleanup());
const RUNS = 10;

/** Starts `args`, sends SIGTERM as soon as stderr holds `startLine`, and resolves with the exit code and stderr. */
async function signalledAtStart(args: string[], startLine: string): Promise<{ code: number | null; stderr: string }> {
  const child: Child = startBinaryChild(args);
  await new Promise<void>((resolve) => {
    const check = () => {
      if (!child.stderr().includes(startLine)) return;
      child.proc.stderr.off("data", check);
      child.kill("SIGTERM");
      resolve();
    };
    child.proc.stderr.on("data", check);
  });
  return { code: await child.exited, stderr: child.stderr() };
}

test(`agent: SIGTERM as soon as it says it is listening drains and exits 0 (${RUNS} runs)`, async () => {
  binary();
  for (let i = 0; i < RUNS; i++) {
    const socket = join(tmp.dir, `agent-${i}.sock`);
    const r = await signalledAtStart(["agent", "--socket", socket, "--output", "discard", "--spool-dir", "", "--http-listen", "127.0.0.1:0"], "listening on socket");
    expect({ run: i, code: r.code, draining: r.stderr.includes("SIGTERM: draining and stopping") }).toEqual({ run: i, code: 0, draining: true });
  }
}, 60_000);

test(`coderd: SIGTERM as soon as it says it is listening stops it and exits 0 (${RUNS} runs)`, async () => {
  for (let i = 0; i < RUNS; i++) {
    const paths = coderdPaths(tmp.dir);
    const args = ["coderd", "--agents-file", paths.agentsFile, "--db", `sqlite:${join(tmp.dir, `coderd-${i}.db`)}`, "--admin-token", ADMIN_TOKEN, "--http-listen", "127.0.0.1:0"];
    const r = await signalledAtStart(args, "coderd: listening on");
    expect({ run: i, code: r.code, stopped: r.stderr.includes("coderd: stopped") }).toEqual({ run: i, code: 0, stopped: true });
  }
}, 60_000);
