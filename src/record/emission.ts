// The `boundary_request` line: one per audit record, as text (logfmt with
// Go quoting) or JSON (one object per line). coderd writes it to stderr with
// the workspace identity, from the stored record; the agent's `--output
// stdout` writes the JSON form without it, from the decoded record
// (shared/DESIGN.md "Emission on coderd's stderr").
//
// Guarantee: whatever a record holds, its line is exactly one line for any
// line-splitting reader. Text values are Go-quoted (goquote.ts); JSON lines
// escape every C0 and C1 control character, DEL, U+2028 and U+2029 (what
// Python's str.splitlines() and JavaScript's line terminators split on).
import type { BoundaryLog } from "../gen/coder/agent/v2/boundary_pb.ts";
import type { AgentIdentity } from "./identity.ts";
import { logfmtValue } from "./goquote.ts";
import { logLineTime, rfc3339Nano } from "./time.ts";

export const EMISSION_MESSAGE = "boundary_request";
export type LogFormat = "text" | "json";

/** The workspace fields of a line (coderd's lines; the agent has none). */
export type LineWorkspace = Pick<AgentIdentity, "workspaceId" | "workspaceName" | "ownerName" | "templateId" | "templateVersionId">;

/** Everything a line says about one record, flat. */
export interface LineRecord {
  allowed: boolean;
  sessionId: string;
  sequenceNumber: number;
  /** null leaves the workspace fields out. */
  workspace: LineWorkspace | null;
  confinedProcessName: string;
  httpMethod: string;
  httpUrl: string;
  /** Printed for allowed records only. */
  matchedRule: string;
  /** RFC 3339 with nanoseconds, as Go prints it. */
  eventTime: string;
}

/** A decoded record plus its batch's session: what the agent's lines are made from. */
export interface EmittedRecord {
  sessionId: string;
  confinedProcessName: string;
  log: BoundaryLog;
}

/** The line of a decoded record. */
export function lineOf(rec: EmittedRecord, identity: LineWorkspace | null): LineRecord {
  const { log } = rec;
  const http = log.resource.case === "httpRequest" ? log.resource.value : undefined;
  return {
    allowed: log.allowed,
    sessionId: rec.sessionId,
    sequenceNumber: log.sequenceNumber,
    workspace: identity,
    confinedProcessName: rec.confinedProcessName,
    httpMethod: http?.method ?? "",
    httpUrl: http?.url ?? "",
    matchedRule: http?.matchedRule ?? "",
    eventTime: rfc3339Nano(log.time),
  };
}

type Field = [name: string, value: string | number];

/** The line's fields, in their fixed order. */
export function lineFields(line: LineRecord): Field[] {
  const fields: Field[] = [
    ["decision", line.allowed ? "allow" : "deny"],
    ["session_id", line.sessionId],
    ["sequence_number", line.sequenceNumber],
  ];
  const ws = line.workspace;
  if (ws) {
    fields.push(
      ["workspace_id", ws.workspaceId],
      ["workspace_name", ws.workspaceName],
      ["owner", ws.ownerName],
      ["template_id", ws.templateId],
      ["template_version_id", ws.templateVersionId],
    );
  }
  fields.push(["confined_process_name", line.confinedProcessName], ["http_method", line.httpMethod], ["http_url", line.httpUrl]);
  if (line.allowed) fields.push(["matched_rule", line.matchedRule]);
  fields.push(["event_time", line.eventTime]);
  return fields;
}

const levelOf = (line: LineRecord): "info" | "warn" => (line.allowed ? "info" : "warn");

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

/**
 * The text line: lineFields' fields, written out directly. The lines of one
 * batch mostly share their session and workspace, so the part from
 * workspace_id to confined_process_name is quoted once per run of equal
 * values rather than once per line.
 */
export function textLine(line: LineRecord, now: Date): string {
  let text = `${lineTime(now)} [${levelOf(line)}] ${EMISSION_MESSAGE} decision=${line.allowed ? "allow" : "deny"}`;
  text += ` session_id=${logfmtValue(line.sessionId)} sequence_number=${line.sequenceNumber}${identityText(line)}`;
  text += ` http_method=${logfmtValue(line.httpMethod)} http_url=${logfmtValue(line.httpUrl)}`;
  if (line.allowed) text += ` matched_rule=${logfmtValue(line.matchedRule)}`;
  return `${text} event_time=${logfmtValue(line.eventTime)}`;
}

// The last identity part textLine wrote, and what it was made from.
let lastWorkspace: LineWorkspace | null = null;
let lastProcess = "";
let lastIdentityText = ' confined_process_name=""';

function sameWorkspace(a: LineWorkspace | null, b: LineWorkspace | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return a.workspaceId === b.workspaceId && a.workspaceName === b.workspaceName && a.ownerName === b.ownerName &&
    a.templateId === b.templateId && a.templateVersionId === b.templateVersionId;
}

/** ` workspace_id=… … confined_process_name=…` (no workspace fields without a workspace). */
function identityText(line: LineRecord): string {
  const ws = line.workspace;
  if (line.confinedProcessName === lastProcess && sameWorkspace(ws, lastWorkspace)) return lastIdentityText;
  let text = "";
  if (ws) {
    text += ` workspace_id=${logfmtValue(ws.workspaceId)} workspace_name=${logfmtValue(ws.workspaceName)}`;
    text += ` owner=${logfmtValue(ws.ownerName)} template_id=${logfmtValue(ws.templateId)} template_version_id=${logfmtValue(ws.templateVersionId)}`;
  }
  text += ` confined_process_name=${logfmtValue(line.confinedProcessName)}`;
  lastWorkspace = ws && { ...ws };
  lastProcess = line.confinedProcessName;
  lastIdentityText = text;
  return text;
}

// JSON.stringify escapes C0 controls but leaves DEL, C1 controls, U+2028 and
// U+2029 raw; line-splitting readers cut a line at several of them.
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029]/g;
const escapeRaw = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;

export function jsonLine(line: LineRecord, now: Date): string {
  const text = JSON.stringify({
    ts: now.toISOString(),
    level: levelOf(line).toUpperCase(),
    msg: EMISSION_MESSAGE,
    fields: Object.fromEntries(lineFields(line)),
  });
  return text.replace(RAW_IN_JSON, escapeRaw);
}

export function formatLineRecord(format: LogFormat, line: LineRecord, now: Date): string {
  return format === "json" ? jsonLine(line, now) : textLine(line, now);
}

/** The text line of a decoded record. */
export function formatText(rec: EmittedRecord, identity: LineWorkspace | null, now: Date): string {
  return textLine(lineOf(rec, identity), now);
}

/** The JSON line of a decoded record (the agent's `--output stdout`). */
export function formatJson(rec: EmittedRecord, identity: LineWorkspace | null, now: Date): string {
  return jsonLine(lineOf(rec, identity), now);
}
