// The Linux proc connector: a netlink socket (NETLINK_CONNECTOR) joined to
// the CN_IDX_PROC multicast group and subscribed (PROC_CN_MCAST_LISTEN) to
// the kernel's process events. Runtime-free: the libc calls come from
// ffi-bun.ts or ffi-deno.ts through the Libc interface.
//
// What the kernel requires, each failure named by ProcConnectorError:
// - Linux with CONFIG_PROC_EVENTS (else the socket cannot be made: "unsupported");
// - CAP_NET_ADMIN in the initial user namespace (else bind or the
//   subscription fails with EPERM: "permission");
// - the initial PID and user namespaces: the kernel silently ignores a
//   subscription from any other (no acknowledgement: "namespace").
// Overruns: when the socket's receive buffer is full the kernel drops
// events and the next recv fails with ENOBUFS; receive() then returns
// OVERRUN and reading goes on. The buffer is made large (SO_RCVBUFFORCE).
import { readlinkSync } from "node:fs";
import { release } from "node:os";
import { type Libc, SCHED_FIFO } from "./libc.ts";

export const AF_NETLINK = 16;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_CONNECTOR = 11;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const SO_RCVTIMEO = 20;
export const CN_IDX_PROC = 1;
export const CN_VAL_PROC = 1;
export const NLMSG_DONE = 3;
export const PROC_CN_MCAST_LISTEN = 1;
export const PROC_CN_MCAST_IGNORE = 2;

/** struct proc_event `what` values used here (linux/cn_proc.h). */
export const PROC_EVENT = { NONE: 0x0, FORK: 0x1, EXEC: 0x2, EXIT: 0x80000000 } as const;

/** Byte layout of one connector datagram: nlmsghdr (16) + cn_msg (20) + proc_event. */
export const LAYOUT = {
  NLMSGHDR_BYTES: 16,
  CN_MSG_BYTES: 20,
  /** cn_msg fields, from the start of the datagram. */
  CN_IDX: 16, CN_VAL: 20, CN_SEQ: 24, CN_ACK: 28, CN_LEN: 32,
  /** proc_event fields, from the start of the datagram. */
  WHAT: 36, CPU: 40, TIMESTAMP_NS: 44, DATA: 52,
  /** proc_event header: what, cpu, timestamp_ns. */
  EVENT_HEADER_BYTES: 16,
} as const;

const ERRNO = { EPERM: 1, EINTR: 4, EAGAIN: 11, EACCES: 13, EPROTONOSUPPORT: 93, EAFNOSUPPORT: 97, ENOBUFS: 105 } as const;

/** Initial namespaces' inode numbers (PROC_PID_INIT_INO, PROC_USER_INIT_INO). */
const INIT_PID_NS = "pid:[4026531836]";
const INIT_USER_NS = "user:[4026531837]";

export type ProcConnectorFailure = "not_linux" | "no_ffi" | "unsupported" | "permission" | "namespace" | "io";

export class ProcConnectorError extends Error {
  override readonly name = "ProcConnectorError";
  constructor(
    readonly failure: ProcConnectorFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** receive()'s result when the kernel dropped events (ENOBUFS). */
export const OVERRUN = -1;

/** How the calling (reader) thread is scheduled: how soon it runs when an event arrives. */
export type ReaderPriority = "realtime" | "nice" | "normal";

export interface ProcConnector {
  /**
   * Raises the calling thread's scheduling priority, so it wakes ahead of
   * ordinary work when an exec arrives: SCHED_FIFO 1 when allowed
   * (CAP_SYS_NICE), else nice -20, else unchanged. It blocks between
   * events and the kernel's RT throttling caps it at 95% of a CPU.
   */
  raiseThreadPriority(): ReaderPriority;
  /** True when the kernel filters to exec events (Linux 6.6+); else every event arrives. */
  readonly execOnly: boolean;
  /** Bytes of receive buffer granted. */
  readonly receiveBufferBytes: number;
  /**
   * Waits up to the receive timeout for one datagram and copies it into
   * `buf`: its length, 0 when none came, OVERRUN when the kernel dropped
   * events since the last call. Throws ProcConnectorError on other errors.
   */
  receive(buf: Uint8Array): number;
  /** CLOCK_MONOTONIC now, in nanoseconds (the clock of event timestamps). */
  monotonicNs(): bigint;
  /** Unsubscribes and closes the socket. */
  close(): void;
}

export interface ProcConnectorOptions {
  /** Receive buffer to ask for; as root SO_RCVBUFFORCE passes net.core.rmem_max. */
  receiveBufferBytes: number;
  /** How long receive() blocks when nothing comes (ms). */
  receiveTimeoutMs: number;
  /** How long to wait for the kernel to acknowledge the subscription (ms). */
  subscribeTimeoutMs?: number;
}

const le32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
};

function timeval(ms: number): Uint8Array {
  const b = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1000)]);
  return new Uint8Array(b.buffer);
}

/** nlmsghdr + cn_msg for CN_IDX_PROC carrying `payload`. */
export function connectorMessage(payload: Uint8Array, seq = 0): Uint8Array {
  const total = LAYOUT.NLMSGHDR_BYTES + LAYOUT.CN_MSG_BYTES + payload.byteLength;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, total, true);
  v.setUint16(4, NLMSG_DONE, true);
  v.setUint32(LAYOUT.CN_IDX, CN_IDX_PROC, true);
  v.setUint32(LAYOUT.CN_VAL, CN_VAL_PROC, true);
  v.setUint32(LAYOUT.CN_SEQ, seq, true);
  v.setUint16(LAYOUT.CN_LEN, payload.byteLength, true);
  out.set(payload, LAYOUT.NLMSGHDR_BYTES + LAYOUT.CN_MSG_BYTES);
  return out;
}

/** PROC_CN_MCAST_LISTEN, filtered to exec events (struct proc_input, Linux 6.6+) or not (the bare op). */
export function subscribeMessage(execOnly: boolean, op = PROC_CN_MCAST_LISTEN): Uint8Array {
  if (!execOnly) return connectorMessage(le32(op));
  const body = new Uint8Array(8);
  body.set(le32(op), 0);
  body.set(le32(PROC_EVENT.EXEC), 4);
  return connectorMessage(body);
}

function namespaceOf(kind: "pid" | "user"): string {
  try {
    return readlinkSync(`/proc/self/ns/${kind}`);
  } catch {
    return `${kind}:[unknown]`;
  }
}

/** Why the kernel did not answer a subscription, as precisely as we can tell. */
function silenceReason(): ProcConnectorError {
  const pid = namespaceOf("pid");
  const user = namespaceOf("user");
  const where = `this process is in ${pid}, ${user}; the initial ones are ${INIT_PID_NS}, ${INIT_USER_NS}`;
  if (pid !== INIT_PID_NS || user !== INIT_USER_NS) {
    return new ProcConnectorError(
      "namespace",
      `the kernel ignored the proc connector subscription: it serves only the initial PID and user namespaces (${where}); ` +
        "run the agent on the host, or in a container sharing the host's PID namespace (hostPID), and scope it with --process-log-cgroup",
    );
  }
  return new ProcConnectorError("unsupported", `the kernel did not acknowledge the proc connector subscription (${where}); is CONFIG_PROC_EVENTS set?`);
}

function errnoError(what: string, errno: number): ProcConnectorError {
  if (errno === ERRNO.EPERM || errno === ERRNO.EACCES) {
    return new ProcConnectorError(
      "permission",
      `${what} failed with ${errno === ERRNO.EPERM ? "EPERM" : "EACCES"}: the proc connector needs CAP_NET_ADMIN in the initial user namespace (run the agent as root, or grant it: setcap cap_net_admin+ep, or securityContext.capabilities.add: [NET_ADMIN])`,
    );
  }
  if (errno === ERRNO.EPROTONOSUPPORT || errno === ERRNO.EAFNOSUPPORT) {
    return new ProcConnectorError("unsupported", `${what} failed (errno ${errno}): this kernel has no netlink connector (CONFIG_CONNECTOR, CONFIG_PROC_EVENTS)`);
  }
  return new ProcConnectorError("io", `${what} failed with errno ${errno}`);
}

/** Opens, binds and subscribes; throws ProcConnectorError naming what is missing. */
export function openProcConnectorWith(libc: Libc, opts: ProcConnectorOptions): ProcConnector {
  const fd = libc.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) throw errnoError("socket(AF_NETLINK, NETLINK_CONNECTOR)", libc.errno());
  try {
    const receiveBufferBytes = growReceiveBuffer(libc, fd, opts.receiveBufferBytes);
    const addr = new Uint8Array(12);
    const av = new DataView(addr.buffer);
    av.setUint16(0, AF_NETLINK, true);
    av.setUint32(8, CN_IDX_PROC, true); // nl_groups; nl_pid 0: the kernel assigns one
    if (libc.bind(fd, addr) !== 0) throw errnoError("bind to the CN_IDX_PROC group", libc.errno());
    setTimeout(libc, fd, opts.subscribeTimeoutMs ?? 500);
    const execOnly = subscribe(libc, fd, opts.subscribeTimeoutMs ?? 500);
    setTimeout(libc, fd, opts.receiveTimeoutMs);
    return connector(libc, fd, execOnly, receiveBufferBytes);
  } catch (err) {
    libc.close(fd);
    throw err;
  }
}

function setTimeout(libc: Libc, fd: number, ms: number): void {
  if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(ms)) !== 0) throw errnoError("setsockopt(SO_RCVTIMEO)", libc.errno());
}

/** SO_RCVBUFFORCE (privileged, passes rmem_max), else SO_RCVBUF; returns what was asked for. */
function growReceiveBuffer(libc: Libc, fd: number, bytes: number): number {
  // The kernel doubles the value for bookkeeping; ask for half.
  const half = le32(Math.max(1, Math.floor(bytes / 2)));
  if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, half) === 0) return bytes;
  libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, half);
  return 0;
}

/**
 * Subscribes to all events (the bare op, which every kernel acknowledges:
 * that is how a refusal or an ignoring namespace shows), then, on Linux
 * 6.6+, narrows the socket to exec events (struct proc_input; those
 * kernels apply it without an acknowledgement, older ones ignore it).
 */
function subscribe(libc: Libc, fd: number, timeoutMs: number): boolean {
  if (libc.send(fd, subscribeMessage(false), 0) < 0) throw errnoError("sending PROC_CN_MCAST_LISTEN", libc.errno());
  const err = awaitAck(libc, fd, timeoutMs);
  if (err === null) throw silenceReason();
  if (err !== 0) throw errnoError("PROC_CN_MCAST_LISTEN", err);
  if (!kernelFiltersEvents(release())) return false;
  if (libc.send(fd, subscribeMessage(true), 0) < 0) throw errnoError("sending the exec-only PROC_CN_MCAST_LISTEN", libc.errno());
  return true;
}

/** Linux 6.6 added per-socket event filters to the proc connector. */
export function kernelFiltersEvents(kernelRelease: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const major = Number(m[1]);
  return major > 6 || (major === 6 && Number(m[2]) >= 6);
}

/** The acknowledgement's error (0 = subscribed), or null when none came in time. */
function awaitAck(libc: Libc, fd: number, timeoutMs: number): number | null {
  const buf = new Uint8Array(256);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = libc.recv(fd, buf, 0);
    if (n < 0) {
      const errno = libc.errno();
      if (errno === ERRNO.EAGAIN || errno === ERRNO.EINTR || errno === ERRNO.ENOBUFS) continue;
      throw errnoError("recv", errno);
    }
    if (n < LAYOUT.DATA + 4) continue;
    const v = new DataView(buf.buffer, 0, n);
    if (v.getUint32(LAYOUT.WHAT, true) === PROC_EVENT.NONE && v.getUint32(LAYOUT.CN_ACK, true) !== 0) {
      return v.getUint32(LAYOUT.DATA, true);
    }
  }
  return null;
}

function connector(libc: Libc, fd: number, execOnly: boolean, receiveBufferBytes: number): ProcConnector {
  let open = true;
  return {
    execOnly,
    receiveBufferBytes,
    receive(buf) {
      const n = libc.recv(fd, buf, 0);
      if (n >= 0) return n;
      const errno = libc.errno();
      if (errno === ERRNO.ENOBUFS) return OVERRUN;
      if (errno === ERRNO.EAGAIN || errno === ERRNO.EINTR) return 0;
      throw errnoError("recv from the proc connector", errno);
    },
    monotonicNs: () => libc.monotonicNs(),
    raiseThreadPriority() {
      const tid = libc.gettid();
      if (libc.schedSetScheduler(tid, SCHED_FIFO, 1) === 0) return "realtime";
      if (libc.setNice(tid, -20) === 0) return "nice";
      return "normal";
    },
    close() {
      if (!open) return;
      open = false;
      libc.send(fd, subscribeMessage(execOnly, PROC_CN_MCAST_IGNORE), 0);
      libc.close(fd);
    },
  };
}
