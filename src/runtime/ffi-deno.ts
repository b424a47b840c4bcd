// libc through Deno.dlopen (needs --allow-ffi; -A grants it). Loaded only
// when process logging starts, so the rest of the program never asks for
// the FFI permission.
import { CLOCK_MONOTONIC, type Libc, openFirstLibc, PRIO_PROCESS } from "./libc.ts";

/** The members of Deno's FFI we call, typed as we use them. */
interface DenoFfi {
  dlopen(path: string, symbols: typeof SYMBOLS): { symbols: Record<keyof typeof SYMBOLS, (...args: unknown[]) => unknown> };
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
}
declare const Deno: DenoFfi;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  gettid: { parameters: [], result: "i32" },
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
} as const;

export function openLibc(): Libc {
  const { path, lib } = openFirstLibc((p) => Deno.dlopen(p, SYMBOLS), "Deno.dlopen");
  const f = lib.symbols;
  const timespec = new BigInt64Array(2);
  return {
    path,
    socket: (domain, type, protocol) => f.socket(domain, type, protocol) as number,
    bind: (fd, addr) => f.bind(fd, addr, addr.byteLength) as number,
    setsockopt: (fd, level, name, value) => f.setsockopt(fd, level, name, value, value.byteLength) as number,
    send: (fd, buf, flags) => Number(f.send(fd, buf, BigInt(buf.byteLength), flags)),
    recv: (fd, buf, flags) => Number(f.recv(fd, buf, BigInt(buf.byteLength), flags)),
    close: (fd) => f.close(fd) as number,
    errno: () => new Deno.UnsafePointerView(f.__errno_location()).getInt32(0),
    gettid: () => f.gettid() as number,
    schedSetScheduler: (tid, policy, priority) => f.sched_setscheduler(tid, policy, new Uint8Array(new Int32Array([priority]).buffer)) as number,
    setNice: (tid, nice) => f.setpriority(PRIO_PROCESS, tid, nice) as number,
    monotonicNs: () => {
      f.clock_gettime(CLOCK_MONOTONIC, new Uint8Array(timespec.buffer));
      return timespec[0]! * 1_000_000_000n + timespec[1]!;
    },
  };
}
