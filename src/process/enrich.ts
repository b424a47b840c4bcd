// Reads what /proc/<pid> still tells about a process the kernel just
// reported exec'ing, as fast as it can (one read per file, cmdline first:
// it vanishes first, when the process exits). A file that cannot be read
// leaves its fields empty or 0 and marks the record truncated; nothing is
// retried. Scope: a process outside the agent's PID namespace (or outside
// --process-log-cgroup) is not recorded.
import { closeSync, openSync, readFileSync, readlinkSync, readSync } from "node:fs";
import type { ProcessExec } from "../gen/boundaryrelay/v1/process_pb.ts";
import { inCgroup, MAX_ARGV_BYTES, parseCmdline, parseStatus } from "./cmdline.ts";

export type Scope =
  /** Processes whose /proc/<pid>/ns/pid is `ns` (the agent's own). */
  | { kind: "pid_namespace"; ns: string }
  /** Processes in the cgroup `path` or below it. */
  | { kind: "cgroup"; path: string };

/** A process's exec as /proc showed it (ProcessExec's /proc fields); time comes from the kernel event. */
export type ExecFacts = Pick<ProcessExec, "pid" | "ppid" | "uid" | "gid" | "filename" | "argv" | "comm" | "truncated">;

export type ReadOutcome = { kind: "in_scope"; facts: ExecFacts } | { kind: "out_of_scope" } | { kind: "unattributed"; facts: ExecFacts };

/** The agent's own scope when no cgroup is given. */
export function ownScope(cgroup: string): Scope {
  if (cgroup !== "") return { kind: "cgroup", path: cgroup };
  return { kind: "pid_namespace", ns: readlinkSync("/proc/self/ns/pid") };
}

// One buffer for every cmdline read: no allocation per exec (the reader is one thread).
const cmdlineBuffer = new Uint8Array(MAX_ARGV_BYTES + 1);

/** Reads up to cmdlineBuffer's size of `path` with open/read/close (half the cost of readFileSync here). */
function readCmdline(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    let filled = 0;
    while (filled < cmdlineBuffer.length) {
      const n = readSync(fd, cmdlineBuffer, filled, cmdlineBuffer.length - filled, null);
      if (n === 0) break;
      filled += n;
    }
    return cmdlineBuffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

function tryRead<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** true / false, or null when the process is gone before its scope could be read. */
function inScope(pid: number, scope: Scope): boolean | null {
  if (scope.kind === "pid_namespace") {
    const ns = tryRead(() => readlinkSync(`/proc/${pid}/ns/pid`));
    return ns === null ? null : ns === scope.ns;
  }
  const cgroups = tryRead(() => readFileSync(`/proc/${pid}/cgroup`, "utf8"));
  return cgroups === null ? null : inCgroup(cgroups, scope.path);
}

export function readExec(pid: number, scope: Scope): ReadOutcome {
  const cmdline = tryRead(() => readCmdline(`/proc/${pid}/cmdline`));
  const filename = tryRead(() => readlinkSync(`/proc/${pid}/exe`));
  const scoped = inScope(pid, scope);
  if (scoped === false) return { kind: "out_of_scope" };
  const status = tryRead(() => parseStatus(readFileSync(`/proc/${pid}/status`, "utf8")));
  const parsed = cmdline === null ? { argv: [], cut: false } : parseCmdline(cmdline);
  const facts: ExecFacts = {
    pid,
    ppid: status?.ppid ?? 0,
    uid: status?.uid ?? 0,
    gid: status?.gid ?? 0,
    filename: filename ?? "",
    argv: parsed.argv,
    comm: status?.comm ?? "",
    // An empty cmdline is a process already exiting (its memory is gone).
    truncated: parsed.argv.length === 0 || parsed.cut || filename === null || status === null,
  };
  return scoped === null ? { kind: "unattributed", facts } : { kind: "in_scope", facts };
}
