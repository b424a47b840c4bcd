// execPlan (src/runtime/jsc-heap.ts): what the agent execs to start again
// with JavaScriptCore's heap heuristics scaled, and when it does not.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type ExecPlan, execPlan, FORCE_RAM_SIZE_VAR, reexecWithRamSize } from "../../src/runtime/jsc-heap.ts";

const CMDLINE = "/usr/local/bin/boundary-relay\0agent\0--socket\0/run/a b.sock\0--coderd-url\0https://c.example/?x=1\0";

describe("execPlan", () => {
  test("unset: the same program and arguments, every variable kept, the RAM size added", () => {
    const plan = execPlan({ HOME: "/root", ODD: "a=b=c", GONE: undefined }, CMDLINE, "/proc/self/exe", 134217728);
    expect(plan).toEqual({
      path: "/proc/self/exe",
      argv: ["/usr/local/bin/boundary-relay", "agent", "--socket", "/run/a b.sock", "--coderd-url", "https://c.example/?x=1"],
      env: ["HOME=/root", "ODD=a=b=c", `${FORCE_RAM_SIZE_VAR}=134217728`],
    });
  });

  test("already set (by the exec before, or the operator, 0 included): no exec", () => {
    expect(execPlan({ [FORCE_RAM_SIZE_VAR]: "134217728" }, CMDLINE, "/proc/self/exe", 134217728)).toBeNull();
    expect(execPlan({ [FORCE_RAM_SIZE_VAR]: "0" }, CMDLINE, "/proc/self/exe", 134217728)).toBeNull();
    expect(execPlan({ [FORCE_RAM_SIZE_VAR]: "" }, CMDLINE, "/proc/self/exe", 134217728)).toBeNull();
  });

  test("an empty argument survives; an empty command line is no plan", () => {
    expect(execPlan({}, "bun\0src/main.ts\0agent\0--spool-dir\0\0", "/proc/self/exe", 1)?.argv).toEqual(["bun", "src/main.ts", "agent", "--spool-dir", ""]);
    expect(execPlan({}, "", "/proc/self/exe", 1)).toBeNull();
  });
});

describe("reexecWithRamSize", () => {
  test("hands this process's command line to execve; a failed exec is returned as the reason, to run on", () => {
    const plans: ExecPlan[] = [];
    const why = reexecWithRamSize({ A: "1" }, 64, (plan) => (plans.push(plan), "execve failed (errno 7)"));
    expect(why).toBe("execve failed (errno 7)");
    expect(plans).toHaveLength(1);
    expect(plans[0]!.path).toBe("/proc/self/exe");
    expect(plans[0]!.argv).toEqual(readFileSync("/proc/self/cmdline", "latin1").split("\0").slice(0, -1));
    expect(plans[0]!.env).toEqual(["A=1", `${FORCE_RAM_SIZE_VAR}=64`]);
  });

  test("set already: execve is not called", () => {
    let called = false;
    expect(reexecWithRamSize({ [FORCE_RAM_SIZE_VAR]: "64" }, 64, () => ((called = true), ""))).toBeNull();
    expect(called).toBe(false);
  });
});
