// The compiled agent starts again with JavaScriptCore's heap heuristics
// scaled to 128 MiB (src/runtime/jsc-heap.ts): one execve of itself, before
// anything is opened, so the process a supervisor started is the one that
// runs (same pid, same arguments), and an operator's own setting wins.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/temp.ts";
import { binary, type Proc, startAgentWith } from "./harness.ts";

const tmp = tempDir("e2e-agent-heap-");
const running: Proc[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop("SIGKILL")));
  tmp.cleanup();
});

/** The environment and argv the process at `pid` was exec'd with (Linux /proc). */
function procStart(pid: number): { env: string[]; argv: string[] } {
  const nulList = (file: string) => readFileSync(`/proc/${pid}/${file}`, "latin1").split("\0").filter((s, i, all) => i < all.length - 1 || s !== "");
  return { env: nulList("environ"), argv: nulList("cmdline") };
}

async function agentIn(name: string, env: Record<string, string> = {}): Promise<{ agent: Proc; args: string[] }> {
  const args = ["--socket", join(tmp.dir, name, "audit.sock"), "--output", "discard", "--spool-dir", "", "--http-listen", "127.0.0.1:0"];
  const agent = await startAgentWith(args, env);
  running.push(agent);
  return { agent, args };
}

test("the agent runs with BUN_JSC_forceRAMSize=134217728, in the pid it was started as, with its arguments, saying nothing about it", async () => {
  const { agent, args } = await agentIn("default");
  const { env, argv } = procStart(agent.child.proc.pid!);
  expect(env).toContain("BUN_JSC_forceRAMSize=134217728");
  expect(env.filter((v) => v.startsWith("BUN_JSC_forceRAMSize="))).toHaveLength(1);
  expect(argv).toEqual([binary(), "agent", ...args]);
  expect(agent.child.stderr()).not.toContain("warning");
  expect(agent.child.stderr().match(/listening on socket/g)).toHaveLength(1);
  expect(await agent.stop("SIGTERM")).toBe(0);
});

test("arguments and variables that are not ASCII reach the re-executed agent byte for byte", async () => {
  const { agent, args } = await agentIn("sock-é-ünï", { BR_TEST_NOT_ASCII: "caf\u00e9" });
  const pid = agent.child.proc.pid!;
  const cmdline = readFileSync(`/proc/${pid}/cmdline`);
  expect(cmdline.equals(Buffer.from(`${[binary(), "agent", ...args].join("\0")}\0`, "utf8"))).toBe(true);
  expect(readFileSync(`/proc/${pid}/environ`).includes(Buffer.from("BR_TEST_NOT_ASCII=caf\u00e9\0", "utf8"))).toBe(true);
  expect(agent.child.stderr()).toContain(`listening on socket ${args[1]} `);
  expect(await agent.stop("SIGTERM")).toBe(0);
});

test("an operator's BUN_JSC_forceRAMSize (0: the machine's RAM) is kept, not replaced", async () => {
  const { agent } = await agentIn("operator", { BUN_JSC_forceRAMSize: "0" });
  const { env } = procStart(agent.child.proc.pid!);
  expect(env.filter((v) => v.startsWith("BUN_JSC_forceRAMSize="))).toEqual(["BUN_JSC_forceRAMSize=0"]);
  expect(await agent.stop("SIGTERM")).toBe(0);
});
