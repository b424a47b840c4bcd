// The `exec` line: one per exec record, in the shape of the exectrace
// sidecar's line (shared/WIRE.md §6): {ts, level, msg: "exec", fields:
// {labels, cmdline, event}}. JSON for the agent's --output stdout and
// coderd's json log format; text (logfmt, Go-quoted values) for coderd's
// text format. Record data can neither split nor forge a line: JSON escapes
// control characters (and here U+2028/U+2029), text quotes every value
// that needs it.
import type { ProcessExec } from "../gen/boundaryrelay/v1/process_pb.ts";
import { logfmtValue } from "../record/goquote.ts";
import type { AgentIdentity } from "../record/identity.ts";
import { logLineTime, rfc3339Nano } from "../record/time.ts";

export const EXEC_MESSAGE = "exec";

/** exectrace's labels; from the agent's identity, "" where unknown (organization and e-mail are never known here). */
export interface ExecLabels {
  organization_id: string;
  user_email: string;
  user_id: string;
  username: string;
  workspace_id: string;
  workspace_name: string;
}

export function execLabels(identity: AgentIdentity | null): ExecLabels {
  return {
    organization_id: "",
    user_email: "",
    user_id: identity?.ownerId ?? "",
    username: identity?.ownerName ?? "",
    workspace_id: identity?.workspaceId ?? "",
    workspace_name: identity?.workspaceName ?? "",
  };
}

/** What a line shows of an exec: a received ProcessExec (the agent) or a stored row (coderd), alike. */
export interface ExecLineRecord {
  filename: string;
  argv: string[];
  truncated: boolean;
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  comm: string;
  cmdline: string;
  /** The kernel's event time, RFC 3339 with nanoseconds. */
  time: string;
}

export function lineRecordOf(exec: ProcessExec): ExecLineRecord {
  const { filename, argv, truncated, pid, ppid, uid, gid, comm, cmdline } = exec;
  return { filename, argv, truncated, pid, ppid, uid, gid, comm, cmdline, time: rfc3339Nano(exec.time) };
}

/** exectrace's event fields, plus ppid and the kernel's event time. */
export function execEvent(exec: ExecLineRecord) {
  return {
    filename: exec.filename,
    argv: exec.argv,
    truncated: exec.truncated,
    pid: exec.pid,
    ppid: exec.ppid,
    uid: exec.uid,
    gid: exec.gid,
    comm: exec.comm,
    time: exec.time,
  };
}

const LINE_SEPARATORS = /[\u2028\u2029]/g;

export function formatExecJson(exec: ExecLineRecord, labels: ExecLabels, now: Date): string {
  const line = JSON.stringify({
    ts: now.toISOString(),
    level: "INFO",
    msg: EXEC_MESSAGE,
    fields: { labels, cmdline: exec.cmdline, event: execEvent(exec) },
  });
  return line.replace(LINE_SEPARATORS, (ch) => (ch === "\u2028" ? "\\u2028" : "\\u2029"));
}

export function formatExecText(exec: ExecLineRecord, labels: ExecLabels, now: Date): string {
  const e = execEvent(exec);
  const fields: [string, string | number | boolean][] = [
    ["workspace_id", labels.workspace_id],
    ["workspace_name", labels.workspace_name],
    ["owner", labels.username],
    ["pid", e.pid],
    ["ppid", e.ppid],
    ["uid", e.uid],
    ["gid", e.gid],
    ["comm", e.comm],
    ["filename", e.filename],
    ["truncated", e.truncated],
    ["cmdline", exec.cmdline],
    ["argv", JSON.stringify(e.argv)],
    ["event_time", e.time],
  ];
  let line = `${logLineTime(now)} [info] ${EXEC_MESSAGE}`;
  for (const [name, value] of fields) line += ` ${name}=${typeof value === "string" ? logfmtValue(value) : value}`;
  return line;
}

export function formatExecLine(format: "text" | "json", exec: ExecLineRecord, labels: ExecLabels, now: Date): string {
  return format === "json" ? formatExecJson(exec, labels, now) : formatExecText(exec, labels, now);
}
