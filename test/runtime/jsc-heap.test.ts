// execPlan and reexecWithRamSize (src/runtime/jsc-heap.ts): what the agent
// execs to start again with JavaScriptCore's heap heuristics scaled, byte
// for byte, and when it does not.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type ExecPlan, execPlan, FORCE_RAM_SIZE_VAR, reexecWithRamSize } from "../../src/runtime/jsc-heap.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const strings = (list: Uint8Array[]) => list.map((b) => Buffer.from(b).toString("latin1"));
const CMDLINE = bytes("/usr/local/bin/boundary-relay\0agent\0--socket\0/run/a é.sock\0--coderd-url\0https://c.example/?x=1\0");
const ENVIRON = bytes("HOME=/root\0ODD=a=b=c\0");

describe("execPlan", () => {
  test("unset: /proc/self/exe with the same arguments and variables, byte for byte, and the RAM size added", () => {
    const plan = execPlan(CMDLINE, ENVIRON, 134217728)!;
    expect(strings([plan.path])).toEqual(["/proc/self/exe\0"]);
    expect(Buffer.concat(plan.argv).equals(Buffer.from(CMDLINE))).toBe(true);
    expect(plan.argv).toHaveLength(6);
    expect(strings(plan.env)).toEqual(["HOME=/root\0", "ODD=a=b=c\0", `${FORCE_RAM_SIZE_VAR}=134217728\0`]);
  });

  test("bytes that are not UTF-8 pass unchanged", () => {
    const odd = Uint8Array.of(0x61, 0xff, 0xfe, 0, 0x62, 0);
    expect(Buffer.concat(execPlan(odd, odd, 1)!.argv).equals(Buffer.from(odd))).toBe(true);
  });

  test("already in the environment the image started with (by the exec before, or the operator, 0 included): no exec", () => {
    for (const value of ["134217728", "0", ""]) expect(execPlan(CMDLINE, bytes(`HOME=/root\0${FORCE_RAM_SIZE_VAR}=${value}\0`), 134217728)).toBeNull();
    expect(execPlan(CMDLINE, bytes(`X${FORCE_RAM_SIZE_VAR}=1\0${FORCE_RAM_SIZE_VAR}X=1\0`), 1)).not.toBeNull(); // other names
  });

  test("an empty argument survives, a last string without its NUL gets one; an empty command line is no plan", () => {
    expect(strings(execPlan(bytes("bun\0agent\0--spool-dir\0\0"), ENVIRON, 1)!.argv)).toEqual(["bun\0", "agent\0", "--spool-dir\0", "\0"]);
    expect(strings(execPlan(bytes("bun\0agent"), ENVIRON, 1)!.argv)).toEqual(["bun\0", "agent\0"]);
    expect(execPlan(new Uint8Array(0), ENVIRON, 1)).toBeNull();
  });
});

describe("reexecWithRamSize", () => {
  test("hands this process's /proc/self command line and environment to execve; a failed exec is returned, to run on", () => {
    const plans: ExecPlan[] = [];
    const why = reexecWithRamSize(64, (plan) => (plans.push(plan), "execve failed (errno 7)"));
    expect(why).toBe("execve failed (errno 7)");
    expect(plans).toHaveLength(1);
    expect(Buffer.concat(plans[0]!.argv).equals(readFileSync("/proc/self/cmdline"))).toBe(true);
    expect(Buffer.concat(plans[0]!.env).equals(Buffer.concat([readFileSync("/proc/self/environ"), Buffer.from(`${FORCE_RAM_SIZE_VAR}=64\0`)]))).toBe(true);
  });

});
