// libc through bun:ffi (Bun, and the `bun build --compile` binary, which
// embeds bun:ffi). Loaded only when process logging starts, or when the
// agent re-executes itself (execvePlan, for jsc-heap.ts).
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import type { ExecPlan } from "./jsc-heap.ts";
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

/**
 * execve(2) of `plan`: does not return when it works; otherwise returns why
 * not. Its own small dlopen, so that the process log's symbols stay unloaded.
 */
export function execvePlan(plan: ExecPlan): string {
  try {
    const { lib } = openFirstLibc(
      (p) => dlopen(p, { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 }, __errno_location: { args: [], returns: FFIType.ptr } }),
      "bun:ffi",
    );
    const argv = pointerTable(plan.argv);
    const envp = pointerTable(plan.env);
    lib.symbols.execve(ptr(plan.path), ptr(argv), ptr(envp));
    // Still here: it failed (plan's strings, which argv and envp point at, are alive until now).
    return `execve of itself failed (errno ${read.i32(lib.symbols.__errno_location()!, 0)}, ${plan.argv.length} arguments, ${plan.env.length} variables)`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A NULL-terminated table of pointers to `strings` (char *const[]); they must stay referenced while it is used. */
function pointerTable(strings: Uint8Array[]): BigUint64Array {
  const table = new BigUint64Array(strings.length + 1); // 64-bit pointers: the linux/x64 and linux/arm64 builds
  strings.forEach((s, i) => (table[i] = BigInt(ptr(s))));
  return table;
}
