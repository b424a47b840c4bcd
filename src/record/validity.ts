// The one definition of a valid boundary record, shared by the agent's socket
// decoder (what it refuses at the socket), the forwarder and coderd (what it
// answers invalid_argument to), so a request the agent accepts is a request
// coderd stores.
//
// Two entry points apply the same rules:
// - checkEncodedRequest: a strict scan over the protobuf bytes of a
//   coder.agent.v2.ReportBoundaryLogsRequest that builds no objects and
//   allocates nothing unless the request is invalid (the agent's hot path);
// - checkRequest: the rules on a decoded request (coderd's JSON path, where
//   there are no bytes to scan).
//
// The rules:
// - wire shape (kind "malformed_protobuf", the reason shared/vectors use):
//   every length inside its parent message, varints of at most 10 bytes, no
//   groups, field number 0 refused, known fields only with their declared
//   wire type; unknown fields are skipped when well-formed (proto3);
// - values (kind "invalid_value"): strings are UTF-8 (no lone surrogates),
//   within FIELD_LIMITS; an event time lies in years 1–9999 with nanos in
//   0 … 999,999,999 (a missing time is valid and means the Unix epoch, as
//   Go's AsTime does).
// The 1000-record cap per request is a request rule, not a record rule, and
// is not checked here.
import type { ReportBoundaryLogsRequest } from "../gen/coder/agent/v2/boundary_pb.ts";

/**
 * Caps in UTF-8 bytes; a longer field makes the record invalid. The URL and
 * the process name may be as long as one socket frame can carry (32 KiB):
 * a request to a very long URL is exactly what an exfiltration attempt looks
 * like, so it must reach the audit trail rather than be refused, and the
 * shared vector v1_max_size (a 32,726-byte process name) is a valid frame.
 * What boundary itself sets is short (a UUID, a method, an operator's rule),
 * so those caps are tight. No field can make a row or a line bigger than
 * 32 KiB.
 */
export const FIELD_LIMITS = {
  http_method: 32,
  http_url: 32768,
  matched_rule: 1024,
  session_id: 128,
  confined_process_name: 32768,
} as const;

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, in Unix seconds. */
export const MIN_EVENT_SECONDS = -62135596800;
export const MAX_EVENT_SECONDS = 253402300799;
export const MAX_NANOS = 999_999_999;

export type InvalidKind = "malformed_protobuf" | "invalid_value";

export interface InvalidField {
  /** What is wrong: the bytes are not a well-formed message, or a value breaks a rule. */
  kind: InvalidKind;
  /** Path of the offending field, e.g. "logs[3].time.nanos", "session_id", or "" for the message itself. */
  field: string;
  problem: string;
}

/** "logs[3].time.nanos: 1000000000 is outside 0..999999999" */
export function describeInvalid(inv: InvalidField): string {
  return inv.field === "" ? inv.problem : `${inv.field}: ${inv.problem}`;
}

// ------------------------------------------------------------ byte scan

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
const WIRE_NAMES = ["varint", "fixed64", "length-delimited", "group start", "group end", "fixed32", "6", "7"];

/**
 * The scanner's registers, reused across calls so a valid scan allocates
 * nothing: `pos` is the read position, `lo`/`hi` the last varint's 64 bits.
 */
const r = { pos: 0, lo: 0, hi: 0 };

/** Why a scan of one message stopped; `field` relative to that message. */
type Fail = InvalidField | null;

const malformed = (field: string, problem: string): InvalidField => ({ kind: "malformed_protobuf", field, problem });
const invalidValue = (field: string, problem: string): InvalidField => ({ kind: "invalid_value", field, problem });
const join = (parent: string, child: InvalidField): InvalidField => ({
  ...child,
  field: child.field === "" ? parent : `${parent}.${child.field}`,
});

/** Reads a varint at r.pos (before `end`) into r.lo/r.hi; false when it overruns or exceeds 10 bytes. */
function varint(buf: Uint8Array, end: number): boolean {
  let lo = 0;
  let hi = 0;
  let pos = r.pos;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= end) return false;
    const b = buf[pos++]!;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >> 4;
    } else if (shift < 63) hi |= (b & 0x7f) << (shift - 32);
    else if (b > 1) return false; // the 10th byte carries only bit 63
    else hi |= b << 31;
    if ((b & 0x80) === 0) {
      r.pos = pos;
      r.lo = lo >>> 0;
      r.hi = hi >>> 0;
      return true;
    }
  }
  return false;
}

/** The last varint as a signed 64-bit number (exact within ±2^53, enough for the time range). */
function signed64(): number {
  if (r.hi & 0x80000000) return -((~r.hi >>> 0) * 4294967296 + (~r.lo >>> 0) + 1);
  return r.hi * 4294967296 + r.lo;
}

/** The last varint as protobuf's int32 (the low 32 bits, signed). */
const signed32 = (): number => r.lo | 0;

/** Reads a tag at r.pos; returns [field, wireType] packed as field * 8 + wireType, or -1. */
function tag(buf: Uint8Array, end: number): number {
  if (!varint(buf, end) || r.hi !== 0) return -1;
  return r.lo;
}

/** Skips the value of an unknown field; a fault or null. */
function skip(buf: Uint8Array, end: number, wireType: number, field: string): Fail {
  switch (wireType) {
    case WIRE_VARINT:
      return varint(buf, end) ? null : malformed(field, "varint runs past its message or over 10 bytes");
    case WIRE_FIXED64:
      return advance(end, 8, field);
    case WIRE_FIXED32:
      return advance(end, 4, field);
    case WIRE_LEN: {
      const length = lengthPrefix(buf, end, field);
      return typeof length === "number" ? advance(end, length, field) : length;
    }
    default:
      return malformed(field, `wire type ${WIRE_NAMES[wireType]} is not allowed`);
  }
}

function advance(end: number, n: number, field: string): Fail {
  if (end - r.pos < n) return malformed(field, `claims ${n} bytes while ${end - r.pos} remain in its message`);
  r.pos += n;
  return null;
}

/** Reads a length prefix and checks it fits before `end`; the length or a fault. */
function lengthPrefix(buf: Uint8Array, end: number, field: string): number | InvalidField {
  if (!varint(buf, end)) return malformed(field, "length runs past its message or over 10 bytes");
  const remaining = end - r.pos;
  if (r.hi !== 0 || r.lo > remaining) {
    return malformed(field, `claims ${r.hi !== 0 ? "over 4 GiB" : r.lo} bytes while ${remaining} remain in its message`);
  }
  return r.lo;
}

/** The messages the scan knows, and what each field of each one is. */
const Msg = { Request: 0, Log: 1, Timestamp: 2, HttpRequest: 3 } as const;
type Msg = (typeof Msg)[keyof typeof Msg];

/** Index of the next `logs` entry in the request being scanned (for fault paths). */
let logIndex = 0;

/**
 * The fields of one message of kind `msg` between r.pos and `end`; unknown
 * fields are skipped when well-formed. Dispatches on the kind rather than
 * taking callbacks, so scanning a record creates no closures.
 */
function scanMessage(buf: Uint8Array, end: number, msg: Msg): Fail {
  while (r.pos < end) {
    const key = tag(buf, end);
    if (key < 0) return malformed("", "a field tag is malformed");
    const field = key >>> 3;
    const wireType = key & 7;
    if (field === 0) return malformed("", "field number 0 is not allowed");
    const handled = knownField(buf, end, msg, field, wireType);
    if (handled === undefined) {
      const fault = skip(buf, end, wireType, `field ${field}`);
      if (fault) return fault;
    } else if (handled !== null) return handled;
  }
  return null;
}

/** Consumes a known field (a fault, or null), or returns undefined for a field `msg` does not declare. */
function knownField(buf: Uint8Array, end: number, msg: Msg, field: number, wireType: number): Fail | undefined {
  switch (msg) {
    case Msg.Request:
      if (field === 1) return logField(buf, end, wireType, logIndex++);
      if (field === 2) return stringField(buf, end, wireType, "session_id", FIELD_LIMITS.session_id);
      if (field === 3) return stringField(buf, end, wireType, "confined_process_name", FIELD_LIMITS.confined_process_name);
      return undefined;
    case Msg.Log:
      if (field === 1) return varintField(buf, end, wireType, "allowed");
      if (field === 2) return nestedField(buf, end, wireType, "time", Msg.Timestamp);
      if (field === 3) return nestedField(buf, end, wireType, "http_request", Msg.HttpRequest);
      if (field === 4) return varintField(buf, end, wireType, "sequence_number");
      return undefined;
    case Msg.Timestamp:
      if (field === 1) return secondsField(buf, end, wireType);
      if (field === 2) return nanosField(buf, end, wireType);
      return undefined;
    case Msg.HttpRequest:
      if (field === 1) return stringField(buf, end, wireType, "method", FIELD_LIMITS.http_method);
      if (field === 2) return stringField(buf, end, wireType, "url", FIELD_LIMITS.http_url);
      if (field === 3) return stringField(buf, end, wireType, "matched_rule", FIELD_LIMITS.matched_rule);
      return undefined;
  }
}

function wrongType(name: string, wireType: number, expected: number): InvalidField {
  return malformed(name, `has wire type ${WIRE_NAMES[wireType]}, declared ${WIRE_NAMES[expected]}`);
}

/** A length-delimited string field: in bounds, UTF-8, within its cap. */
function stringField(buf: Uint8Array, end: number, wireType: number, name: string, cap: number): Fail {
  if (wireType !== WIRE_LEN) return wrongType(name, wireType, WIRE_LEN);
  const length = lengthPrefix(buf, end, name);
  if (typeof length !== "number") return length;
  const start = r.pos;
  r.pos += length;
  if (length > cap) return invalidValue(name, `${length} bytes exceed the cap of ${cap}`);
  if (!isUtf8(buf, start, start + length)) return invalidValue(name, "is not valid UTF-8");
  return null;
}

function varintField(buf: Uint8Array, end: number, wireType: number, name: string): Fail {
  if (wireType !== WIRE_VARINT) return wrongType(name, wireType, WIRE_VARINT);
  return varint(buf, end) ? null : malformed(name, "varint runs past its message or over 10 bytes");
}

function secondsField(buf: Uint8Array, end: number, wireType: number): Fail {
  const fault = varintField(buf, end, wireType, "seconds");
  if (fault) return fault;
  const seconds = signed64();
  return seconds < MIN_EVENT_SECONDS || seconds > MAX_EVENT_SECONDS
    ? invalidValue("seconds", `${seconds} is outside years 1-9999 (${MIN_EVENT_SECONDS}..${MAX_EVENT_SECONDS})`)
    : null;
}

function nanosField(buf: Uint8Array, end: number, wireType: number): Fail {
  const fault = varintField(buf, end, wireType, "nanos");
  if (fault) return fault;
  const nanos = signed32();
  return nanos < 0 || nanos > MAX_NANOS ? invalidValue("nanos", `${nanos} is outside 0..${MAX_NANOS}`) : null;
}

/** A nested message field of kind `msg`, its faults prefixed with `name`. */
function nestedField(buf: Uint8Array, end: number, wireType: number, name: string, msg: Msg): Fail {
  if (wireType !== WIRE_LEN) return wrongType(name, wireType, WIRE_LEN);
  const length = lengthPrefix(buf, end, name);
  if (typeof length !== "number") return length;
  const fault = scanMessage(buf, r.pos + length, msg);
  return fault ? join(name, fault) : null;
}

/** One `logs` entry; its path ("logs[3]") is built only for a fault, not per record. */
function logField(buf: Uint8Array, end: number, wireType: number, index: number): Fail {
  if (wireType !== WIRE_LEN) return wrongType(`logs[${index}]`, wireType, WIRE_LEN);
  const length = lengthPrefix(buf, end, "logs");
  if (typeof length !== "number") return join(`logs[${index}]`, { ...length, field: "" });
  const fault = scanMessage(buf, r.pos + length, Msg.Log);
  return fault ? join(`logs[${index}]`, fault) : null;
}

/**
 * Strict scan of an encoded coder.agent.v2.ReportBoundaryLogsRequest; builds
 * no objects. null when valid, else the first fault found.
 */
export function checkEncodedRequest(bytes: Uint8Array): InvalidField | null {
  r.pos = 0;
  logIndex = 0;
  return scanMessage(bytes, bytes.length, Msg.Request);
}

/**
 * Whether bytes [start, end) are well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF).
 */
export function isUtf8(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need = 1;
    let min = 0x80; // smallest allowed second byte
    let max = 0xbf; // largest allowed second byte
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) min = 0xa0; // no overlong forms
      else if (b === 0xed) max = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) min = 0x90; // no overlong forms
      else if (b === 0xf4) max = 0x8f; // nothing above U+10FFFF
    } else return false;
    if (end - i <= need) return false;
    const second = buf[i + 1]!;
    if (second < min || second > max) return false;
    for (let k = 2; k <= need; k++) {
      const c = buf[i + k]!;
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

// ------------------------------------------------------------ decoded

/** UTF-8 length of a string, or -1 when it holds a lone surrogate (not encodable as UTF-8). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1;
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else n += 3;
  }
  return n;
}

function checkString(value: string, name: string, cap: number): Fail {
  const length = utf8Length(value);
  if (length < 0) return invalidValue(name, "is not valid UTF-8 (lone surrogate)");
  return length > cap ? invalidValue(name, `${length} bytes exceed the cap of ${cap}`) : null;
}

/** The rules of checkEncodedRequest on a decoded request (wire shape is the decoder's concern there). */
export function checkRequest(req: ReportBoundaryLogsRequest): InvalidField | null {
  const fault =
    checkString(req.sessionId, "session_id", FIELD_LIMITS.session_id) ??
    checkString(req.confinedProcessName, "confined_process_name", FIELD_LIMITS.confined_process_name);
  if (fault) return fault;
  for (let i = 0; i < req.logs.length; i++) {
    const log = req.logs[i]!;
    const logFault = checkLogValues(log);
    if (logFault) return join(`logs[${i}]`, logFault);
  }
  return null;
}

function checkLogValues(log: ReportBoundaryLogsRequest["logs"][number]): Fail {
  if (log.time) {
    const seconds = Number(log.time.seconds);
    if (!(seconds >= MIN_EVENT_SECONDS && seconds <= MAX_EVENT_SECONDS)) {
      return invalidValue("time.seconds", `${log.time.seconds} is outside years 1-9999 (${MIN_EVENT_SECONDS}..${MAX_EVENT_SECONDS})`);
    }
    if (!(log.time.nanos >= 0 && log.time.nanos <= MAX_NANOS)) {
      return invalidValue("time.nanos", `${log.time.nanos} is outside 0..${MAX_NANOS}`);
    }
  }
  if (log.resource.case !== "httpRequest") return null;
  const http = log.resource.value;
  const fault =
    checkString(http.method, "method", FIELD_LIMITS.http_method) ??
    checkString(http.url, "url", FIELD_LIMITS.http_url) ??
    checkString(http.matchedRule, "matched_rule", FIELD_LIMITS.matched_rule);
  return fault ? join("http_request", fault) : null;
}
