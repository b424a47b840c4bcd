// Pids in the order the kernel hands them out: increasing, and after
// pid_max back to RESERVED_PIDS (300). With the default pid_max of 32768 a
// 2,000-exec burst wraps about one run in sixteen, so "started between
// pid a and pid b" must follow that order; comparing the numbers misses
// every pid after the wrap.
import { readFileSync } from "node:fs";

/** The first pid the kernel hands out after a wrap (include/linux/pid.h). */
const RESERVED_PIDS = 300;

/** This machine's pid_max (/proc/sys/kernel/pid_max). */
export function pidMax(): number {
  return Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
}

/** How many pids the kernel handed out from `from` to `pid` (0 for `from` itself), a wrap included. */
export function pidsAfter(from: number, pid: number, max = pidMax()): number {
  return pid >= from ? pid - from : max - from + (pid - RESERVED_PIDS);
}

/** Whether `pid` was handed out from `first` through `last` (both included), a wrap included. */
export function pidWithin(pid: number, first: number, last: number, max = pidMax()): boolean {
  return pidsAfter(first, pid, max) <= pidsAfter(first, last, max);
}
