// libc through bun:ffi (Bun, and the `bun build --compile` binary, which
// embeds bun:ffi). Loaded only when process logging starts.
import { dlopen, FFIType, read } from "bun:ffi";
import { CLOCK_MONOTONIC, type Libc, openFirstLibc, PRIO_PROCESS } from "./libc.ts";

const SYMBOLS = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  gettid: { args: [], returns: FFIType.i32 },
  sched_setscheduler: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
} as const;

export function openLibc(): Libc {
  const { path, lib } = openFirstLibc((p) => dlopen(p, SYMBOLS), "bun:ffi");
  const f = lib.symbols;
  const timespec = new BigInt64Array(2);
  return {
    path,
    socket: (domain, type, protocol) => f.socket(domain, type, protocol),
    bind: (fd, addr) => f.bind(fd, addr, addr.byteLength),
    setsockopt: (fd, level, name, value) => f.setsockopt(fd, level, name, value, value.byteLength),
    send: (fd, buf, flags) => Number(f.send(fd, buf, buf.byteLength, flags)),
    recv: (fd, buf, flags) => Number(f.recv(fd, buf, buf.byteLength, flags)),
    close: (fd) => f.close(fd),
    errno: () => read.i32(f.__errno_location()!, 0),
    gettid: () => f.gettid(),
    schedSetScheduler: (tid, policy, priority) => f.sched_setscheduler(tid, policy, new Int32Array([priority])),
    setNice: (tid, nice) => f.setpriority(PRIO_PROCESS, tid, nice),
    monotonicNs: () => {
      f.clock_gettime(CLOCK_MONOTONIC, timespec);
      return timespec[0]! * 1_000_000_000n + timespec[1]!;
    },
  };
}
