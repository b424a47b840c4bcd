// The rules a ReportProcessLogsRequest must meet, shared by coderd (checked
// on the decoded request before anything is stored) and the agent's
// forwarder (exec spool entries an older run wrote) (protobuf decoding already refused
// malformed bytes and strings that are not UTF-8); time bounds and the
// breach type are those of src/record/validity.ts. A breach names the field:
// "execs[3].time.nanos: 1000000000 is outside 0..999999999".
import type { ReportProcessLogsRequest } from "../gen/boundaryrelay/v1/process_pb.ts";
import { describeInvalid, type InvalidField, MAX_EVENT_SECONDS, MAX_NANOS, MIN_EVENT_SECONDS } from "../record/validity.ts";
import { isUuid } from "../record/ids.ts";

/** The largest batch accepted, as for boundary records. */
export const MAX_EXECS_PER_BATCH = 1000;
/** Caps in UTF-8 bytes (argv: all arguments together). */
export const EXEC_LIMITS = { filename: 4096, argv: 65536, comm: 64, cmdline: 65536 + 1024 } as const;
const ARGV_MAX_ITEMS = 8192;
const MIN_SECONDS = BigInt(MIN_EVENT_SECONDS);
const MAX_SECONDS = BigInt(MAX_EVENT_SECONDS);

const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");

export function checkProcessRequest(req: ReportProcessLogsRequest): InvalidField | null {
  if (req.execs.length > MAX_EXECS_PER_BATCH) {
    return { kind: "invalid_value", field: "execs", problem: `${req.execs.length} records in one request; at most ${MAX_EXECS_PER_BATCH} are accepted` };
  }
  if (!isUuid(req.bootId)) return { kind: "invalid_value", field: "boot_id", problem: `${JSON.stringify(req.bootId.slice(0, 64))} is not a UUID (/proc/sys/kernel/random/boot_id)` };
  for (let i = 0; i < req.execs.length; i++) {
    const e = req.execs[i]!;
    const at = (f: string, problem: string): InvalidField => ({ kind: "invalid_value", field: `execs[${i}].${f}`, problem });
    if (!e.time) return at("time", "is missing");
    if (e.time.seconds < MIN_SECONDS || e.time.seconds > MAX_SECONDS) return at("time.seconds", `${e.time.seconds} is outside years 1-9999`);
    if (e.time.nanos < 0 || e.time.nanos > MAX_NANOS) return at("time.nanos", `${e.time.nanos} is outside 0..${MAX_NANOS}`);
    if (e.pid <= 0) return at("pid", `${e.pid} is not a process id`);
    if (e.ppid < 0) return at("ppid", `${e.ppid} is negative`);
    if (e.monotonicNs > 0x7fffffffffffffffn) return at("monotonic_ns", `${e.monotonicNs} does not fit a signed 64-bit integer`);
    if (utf8Bytes(e.filename) > EXEC_LIMITS.filename) return at("filename", `longer than ${EXEC_LIMITS.filename} bytes`);
    if (utf8Bytes(e.comm) > EXEC_LIMITS.comm) return at("comm", `longer than ${EXEC_LIMITS.comm} bytes`);
    if (e.argv.length > ARGV_MAX_ITEMS) return at("argv", `${e.argv.length} arguments; at most ${ARGV_MAX_ITEMS}`);
    let argvBytes = 0;
    for (const a of e.argv) argvBytes += utf8Bytes(a) + 1;
    if (argvBytes > EXEC_LIMITS.argv + 1) return at("argv", `longer than ${EXEC_LIMITS.argv} bytes`);
    if (utf8Bytes(e.cmdline) > EXEC_LIMITS.cmdline) return at("cmdline", `longer than ${EXEC_LIMITS.cmdline} bytes`);
  }
  return null;
}
