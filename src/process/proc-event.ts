// Parses one proc connector datagram (netlink header, connector header,
// struct proc_event) into the events it carries. No I/O, never throws:
// anything that does not fit the layout comes back as a `malformed` event
// naming the problem. Tested with captured datagrams (test/process/vectors/).
import { CN_IDX_PROC, CN_VAL_PROC, LAYOUT, PROC_EVENT } from "../runtime/proc-connector.ts";

export type ProcEvent =
  /** A task called execve; pid/tgid as the initial PID namespace numbers them. */
  | { kind: "exec"; cpu: number; timestampNs: bigint; pid: number; tgid: number }
  /** The kernel's answer to a (un)subscription: err 0 is success. */
  | { kind: "ack"; err: number }
  /** Fork, exit, uid change …: not recorded. */
  | { kind: "other"; what: number }
  | { kind: "malformed"; reason: MalformedReason };

export type MalformedReason = "short_header" | "bad_length" | "not_proc_connector" | "short_event";

const NLMSG_ALIGN = (n: number) => (n + 3) & ~3;

/** The events in `datagram`, in order (the kernel sends one per datagram; more are read if present). */
export function parseProcEvents(datagram: Uint8Array): ProcEvent[] {
  const events: ProcEvent[] = [];
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  let offset = 0;
  while (offset < datagram.byteLength) {
    if (datagram.byteLength - offset < LAYOUT.NLMSGHDR_BYTES) {
      events.push({ kind: "malformed", reason: "short_header" });
      break;
    }
    const length = view.getUint32(offset, true);
    if (length < LAYOUT.NLMSGHDR_BYTES || offset + length > datagram.byteLength) {
      events.push({ kind: "malformed", reason: "bad_length" });
      break;
    }
    events.push(parseMessage(new DataView(datagram.buffer, datagram.byteOffset + offset, length)));
    offset += NLMSG_ALIGN(length);
  }
  return events;
}

function parseMessage(v: DataView): ProcEvent {
  if (v.byteLength < LAYOUT.WHAT) return { kind: "malformed", reason: "short_header" };
  if (v.getUint32(LAYOUT.CN_IDX, true) !== CN_IDX_PROC || v.getUint32(LAYOUT.CN_VAL, true) !== CN_VAL_PROC) {
    return { kind: "malformed", reason: "not_proc_connector" };
  }
  const payload = v.getUint16(LAYOUT.CN_LEN, true);
  if (payload < LAYOUT.EVENT_HEADER_BYTES || LAYOUT.WHAT + payload > v.byteLength) return { kind: "malformed", reason: "short_event" };
  const what = v.getUint32(LAYOUT.WHAT, true);
  const dataBytes = payload - LAYOUT.EVENT_HEADER_BYTES;
  switch (what) {
    case PROC_EVENT.EXEC:
      if (dataBytes < 8) return { kind: "malformed", reason: "short_event" };
      return {
        kind: "exec",
        cpu: v.getUint32(LAYOUT.CPU, true),
        timestampNs: v.getBigUint64(LAYOUT.TIMESTAMP_NS, true),
        pid: v.getUint32(LAYOUT.DATA, true),
        tgid: v.getUint32(LAYOUT.DATA + 4, true),
      };
    case PROC_EVENT.NONE:
      if (dataBytes < 4) return { kind: "malformed", reason: "short_event" };
      return { kind: "ack", err: v.getUint32(LAYOUT.DATA, true) };
    default:
      return { kind: "other", what };
  }
}
