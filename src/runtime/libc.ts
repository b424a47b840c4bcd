// The few libc calls the proc connector needs, as one runtime-free
// interface: src/runtime/ffi-bun.ts (bun:ffi) and src/runtime/ffi-deno.ts
// (Deno.dlopen) each export `openLibc()` returning it. Every call is
// synchronous and returns what libc returns (-1 and errno() on failure).
export interface Libc {
  /** The shared library that was opened, e.g. "libc.so.6". */
  readonly path: string;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  send(fd: number, buf: Uint8Array, flags: number): number;
  /** Receives one datagram into `buf`; its length, or -1. */
  recv(fd: number, buf: Uint8Array, flags: number): number;
  close(fd: number): number;
  /** errno of the last failed call on this thread. */
  errno(): number;
  /** The calling thread's id. */
  gettid(): number;
  /** sched_setscheduler(tid, policy, &{priority}): 0 or -1. */
  schedSetScheduler(tid: number, policy: number, priority: number): number;
  /** setpriority(PRIO_PROCESS, tid, nice): 0 or -1. */
  setNice(tid: number, nice: number): number;
  /** CLOCK_MONOTONIC in nanoseconds: the clock of proc connector timestamps. */
  monotonicNs(): bigint;
}

/** Shared libraries tried in order: glibc, then musl on x86_64 and aarch64. */
export const LIBC_CANDIDATES = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

export const CLOCK_MONOTONIC = 1;
export const SCHED_FIFO = 1;
export const PRIO_PROCESS = 0;

/** The first of LIBC_CANDIDATES that `open` loads; throws naming each failure. */
export function openFirstLibc<T>(open: (path: string) => T, via: string): { path: string; lib: T } {
  const failures: string[] = [];
  for (const path of LIBC_CANDIDATES) {
    try {
      return { path, lib: open(path) };
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot load libc through ${via} (${failures.join("; ")})`);
}
