// The agent's JavaScriptCore heap, sized for a sidecar. JSC grows its heap
// by the RAM it believes the machine has: on a 24 GiB host it lets garbage
// pile up to double the live heap before collecting, so a burst of records
// took the agent to 190–215 MiB RSS. `BUN_JSC_forceRAMSize` (Bun's
// equivalent of Node's --max-old-space-size, read once when the runtime
// starts) scales those heuristics to the size given: with 128 MiB the same
// burst peaks at 105–133 MiB, at the same rate (`npm run bench:burst`).
//
// An environment variable read at start-up cannot be set from inside the
// process, so the agent, before it opens anything, replaces itself with the
// same program, the same arguments and this one variable added (execve: same
// pid, same file descriptors, nothing else runs in between). An operator's
// own BUN_JSC_forceRAMSize, 0 included (JSC's "the machine's RAM"), is kept
// as it is and no exec happens. Linux only (/proc/self); under Deno, or if
// anything here fails, the agent runs on with the runtime's defaults.
import { readFileSync } from "node:fs";

export const FORCE_RAM_SIZE_VAR = "BUN_JSC_forceRAMSize";
/** The RAM size the agent's heap heuristics assume: 128 MiB. */
export const AGENT_RAM_SIZE_BYTES = 128 * 1024 * 1024;

export interface ExecPlan {
  path: string;
  argv: string[];
  env: string[];
}

/**
 * What to exec so that the runtime starts with FORCE_RAM_SIZE_VAR set; null
 * when it already is (by us, before the exec, or by the operator).
 * `cmdline`: /proc/self/cmdline (NUL-separated argv, NUL-terminated).
 */
export function execPlan(env: Record<string, string | undefined>, cmdline: string, exe: string, ramBytes: number): ExecPlan | null {
  if (env[FORCE_RAM_SIZE_VAR] !== undefined) return null;
  const argv = cmdline.split("\0");
  if (argv.at(-1) === "") argv.pop();
  if (argv.length === 0) return null;
  const vars = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  return { path: exe, argv, env: [...vars, `${FORCE_RAM_SIZE_VAR}=${ramBytes}`] };
}

/**
 * Re-executes this process with FORCE_RAM_SIZE_VAR set to `ramBytes`, unless
 * it is already set; `execve` is the runtime's (ffi-bun.ts). Returns only
 * when no exec happened: null when none was needed, or why it failed.
 */
export function reexecWithRamSize(
  env: Record<string, string | undefined>,
  ramBytes: number,
  execve: (plan: ExecPlan) => string,
): string | null {
  let plan: ExecPlan | null;
  try {
    plan = execPlan(env, readFileSync("/proc/self/cmdline", "latin1"), "/proc/self/exe", ramBytes);
  } catch (err) {
    return `cannot read /proc/self/cmdline: ${(err as Error).message}`;
  }
  return plan ? execve(plan) : null;
}
