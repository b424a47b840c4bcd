// Parsers of /proc/<pid>/{cmdline,status,cgroup} and the enrichment that reads them.
import { describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { cmdlineOf, inCgroup, MAX_ARGV_BYTES, parseCmdline, parseStatus } from "../../src/process/cmdline.ts";
import { readExec } from "../../src/process/enrich.ts";
import { checkPrivileges } from "../../src/process/privilege.ts";
import { ProcConnectorError } from "../../src/runtime/proc-connector.ts";
import { settled } from "../helpers/until.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("cmdline: parseCmdline", () => {
  test("splits on NUL and drops the final terminator", () => {
    expect(parseCmdline(enc("uname\0-a\0"))).toEqual({ argv: ["uname", "-a"], cut: false });
  });
  test("keeps empty arguments", () => {
    expect(parseCmdline(enc("true\0\0x\0")).argv).toEqual(["true", "", "x"]);
  });
  test("an empty file is no argv", () => expect(parseCmdline(new Uint8Array(0))).toEqual({ argv: [], cut: false }));
  test("beyond MAX_ARGV_BYTES it is cut and says so", () => {
    const r = parseCmdline(enc(`big\0${"a".repeat(MAX_ARGV_BYTES)}\0`));
    expect(r.cut).toBe(true);
    expect(r.argv[0]).toBe("big");
    expect(r.argv.join("\0").length).toBeLessThanOrEqual(MAX_ARGV_BYTES);
  });
  test("bytes that are not UTF-8 become U+FFFD", () => {
    expect(parseCmdline(new Uint8Array([0x61, 0xff, 0]))).toEqual({ argv: ["a\ufffd"], cut: false });
  });
  test("cmdlineOf joins with spaces", () => expect(cmdlineOf(["uname", "-a"])).toBe("uname -a"));
});

describe("cmdline: parseStatus", () => {
  const status = "Name:\tmy\\\\cmd\\n\nUmask:\t0022\nState:\tR (running)\nTgid:\t5\nPPid:\t42\nUid:\t1000\t1001\t1001\t1001\nGid:\t100\t101\t101\t101\n";
  test("name (unescaped), parent and real ids", () => {
    expect(parseStatus(status)).toEqual({ comm: "my\\cmd\n", ppid: 42, uid: 1000, gid: 100 });
  });
  test("a missing field is null", () => expect(parseStatus("Name:\tx\nPPid:\t1\n")).toBeNull());
});

describe("cmdline: inCgroup", () => {
  test("cgroup v2 path at or below", () => {
    expect(inCgroup("0::/kubepods/pod1/ctr\n", "/kubepods/pod1")).toBe(true);
    expect(inCgroup("0::/kubepods/pod1\n", "/kubepods/pod1/")).toBe(true);
    expect(inCgroup("0::/kubepods/pod10\n", "/kubepods/pod1")).toBe(false);
  });
  test("any v1 hierarchy", () => expect(inCgroup("12:cpu,cpuacct:/ws/a\n0::/\n", "/ws")).toBe(true));
});

describe("enrich: readExec", () => {
  const scope = { kind: "pid_namespace" as const, ns: readlinkSync("/proc/self/ns/pid") };
  test("a live process: every field, not truncated", async () => {
    // sh waiting on its stdin: alive until we close it, argv as given.
    const child = Bun.spawn(["sh", "-c", "read line", "sh", "x y"], { stdin: "pipe" });
    try {
      // Wait until the child has exec'd (its cmdline is sh's, not ours).
      const out = await settled(() => readExec(child.pid, scope), (o) => o.kind === "in_scope" && o.facts.argv[2] === "read line", {
        timeoutMs: 10_000, intervalMs: 5,
      });
      expect(out.kind).toBe("in_scope");
      if (out.kind !== "in_scope") return;
      expect(out.facts).toMatchObject({ pid: child.pid, ppid: process.pid, argv: ["sh", "-c", "read line", "sh", "x y"], comm: "sh", truncated: false });
      expect(out.facts.filename).toMatch(/sh$/);
      expect(out.facts.uid).toBe(process.getuid!());
    } finally {
      child.kill();
    }
  }, 20_000);
  test("a process already reaped: pid only, truncated", async () => {
    const child = Bun.spawn(["true"]);
    await child.exited;
    const out = readExec(child.pid, scope);
    expect(out.kind).toBe("unattributed");
    if (out.kind === "out_of_scope") return;
    expect(out.facts).toEqual({ pid: child.pid, ppid: 0, uid: 0, gid: 0, filename: "", argv: [], comm: "", truncated: true });
  });
  test("a process in another PID namespace is out of scope", () => {
    expect(readExec(process.pid, { kind: "pid_namespace", ns: "pid:[1]" })).toEqual({ kind: "out_of_scope" });
  });
  test("cgroup scope: our own cgroup is in, a sibling is out", () => {
    const own = require("node:fs").readFileSync("/proc/self/cgroup", "utf8").trim().split("::")[1] as string;
    expect(readExec(process.pid, { kind: "cgroup", path: own }).kind).toBe("in_scope");
    expect(readExec(process.pid, { kind: "cgroup", path: `${own}-not` }).kind).toBe("out_of_scope");
  });
});

describe("privilege: checkPrivileges", () => {
  test("names each missing capability and why", () => {
    let err: unknown;
    try {
      checkPrivileges(1n << 12n); // CAP_NET_ADMIN only
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProcConnectorError);
    expect((err as ProcConnectorError).failure).toBe("permission");
    expect((err as Error).message).toContain("needs CAP_SYS_PTRACE");
    expect((err as Error).message).not.toContain("CAP_NET_ADMIN to");
  });
  test("both present: no error", () => expect(() => checkPrivileges((1n << 12n) | (1n << 19n))).not.toThrow());
});
