// The `boundary_request` line: one per audit record, as text (logfmt with
// Go quoting) or JSON (one object per line). coderd writes it to stderr with
// the workspace identity; the agent's `--output stdout` writes the JSON form
// without it (shared/DESIGN.md "Emission on coderd's stderr").
import type { BoundaryLog } from "../gen/coder/agent/v2/boundary_pb.ts";
import type { AgentIdentity } from "./identity.ts";
import { logfmtValue } from "./goquote.ts";
import { logLineTime, rfc3339Nano } from "./time.ts";

export const EMISSION_MESSAGE = "boundary_request";
export type LogFormat = "text" | "json";

/** What a line is made from: one record plus its batch's session. */
export interface EmittedRecord {
  sessionId: string;
  confinedProcessName: string;
  log: BoundaryLog;
}

type Field = [name: string, value: string | number];

/** The line's fields, in their fixed order. */
export function emissionFields(rec: EmittedRecord, identity: AgentIdentity | null): Field[] {
  const { log } = rec;
  const http = log.resource.case === "httpRequest" ? log.resource.value : undefined;
  const fields: Field[] = [
    ["decision", log.allowed ? "allow" : "deny"],
    ["session_id", rec.sessionId],
    ["sequence_number", log.sequenceNumber],
  ];
  if (identity) {
    fields.push(
      ["workspace_id", identity.workspaceId],
      ["workspace_name", identity.workspaceName],
      ["owner", identity.ownerName],
      ["template_id", identity.templateId],
      ["template_version_id", identity.templateVersionId],
    );
  }
  fields.push(
    ["confined_process_name", rec.confinedProcessName],
    ["http_method", http?.method ?? ""],
    ["http_url", http?.url ?? ""],
  );
  if (log.allowed) fields.push(["matched_rule", http?.matchedRule ?? ""]);
  fields.push(["event_time", rfc3339Nano(log.time)]);
  return fields;
}

export function levelOf(rec: EmittedRecord): "info" | "warn" {
  return rec.log.allowed ? "info" : "warn";
}

// Lines of one batch share a timestamp; format it once per millisecond.
let cachedTime = -1;
let cachedTimeText = "";
function lineTime(now: Date): string {
  const ms = now.getTime();
  if (ms !== cachedTime) {
    cachedTime = ms;
    cachedTimeText = logLineTime(now);
  }
  return cachedTimeText;
}

export function formatText(rec: EmittedRecord, identity: AgentIdentity | null, now: Date): string {
  let line = `${lineTime(now)} [${levelOf(rec)}] ${EMISSION_MESSAGE}`;
  for (const [name, value] of emissionFields(rec, identity)) {
    line += ` ${name}=${typeof value === "number" ? value : logfmtValue(value)}`;
  }
  return line;
}

// JSON.stringify leaves U+2028/U+2029 raw; some line readers split on them.
const LINE_SEPARATORS = /[\u2028\u2029]/g;
const escapeSeparator = (ch: string) => (ch === "\u2028" ? "\\u2028" : "\\u2029");

export function formatJson(rec: EmittedRecord, identity: AgentIdentity | null, now: Date): string {
  const line = JSON.stringify({
    ts: now.toISOString(),
    level: levelOf(rec).toUpperCase(),
    msg: EMISSION_MESSAGE,
    fields: Object.fromEntries(emissionFields(rec, identity)),
  });
  return line.replace(LINE_SEPARATORS, escapeSeparator);
}

export function formatLine(format: LogFormat, rec: EmittedRecord, identity: AgentIdentity | null, now: Date): string {
  return format === "json" ? formatJson(rec, identity, now) : formatText(rec, identity, now);
}
