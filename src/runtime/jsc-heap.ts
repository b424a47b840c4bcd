// The agent's JavaScriptCore heap, sized for a sidecar. JSC grows its heap
// by the RAM it believes the machine has: on a 24 GiB host it lets garbage
// pile up to double the live heap before collecting, so a burst of records
// took the agent to 190–215 MiB RSS. `BUN_JSC_forceRAMSize` (Bun's
// equivalent of Node's --max-old-space-size, read once when the runtime
// starts) scales those heuristics to the size given: with 128 MiB the same
// burst peaks at 113–135 MiB, at the same rate (`npm run bench:burst`).
//
// An environment variable read at start-up cannot be set from inside the
// process, so the agent, before it opens anything, replaces itself with the
// same program, the same arguments and environment, byte for byte, and this
// one variable added (execve: same pid, same file descriptors, nothing else
// runs in between). An operator's own BUN_JSC_forceRAMSize, 0 included
// (JSC's "the machine's RAM"), is kept as it is and no exec happens. Linux
// only (/proc/self); under Deno, or if anything here fails, the agent runs
// on with the runtime's defaults.
import { readFileSync } from "node:fs";

export const FORCE_RAM_SIZE_VAR = "BUN_JSC_forceRAMSize";
/** The RAM size the agent's heap heuristics assume: 128 MiB. */
export const AGENT_RAM_SIZE_BYTES = 128 * 1024 * 1024;

/** An execve(2): the path and the argv and envp strings, as bytes, each NUL-terminated. */
export interface ExecPlan {
  path: Uint8Array;
  argv: Uint8Array[];
  env: Uint8Array[];
}

/**
 * What to exec so that the runtime starts with FORCE_RAM_SIZE_VAR set; null
 * when the environment this image started with has it already (by us,
 * before the exec, or by the operator: never a second exec, whatever the
 * runtime shows in process.env). `cmdline` and `environ`: /proc/self's,
 * NUL-terminated strings back to back, passed on byte for byte (an
 * argument need not be UTF-8).
 */
export function execPlan(cmdline: Uint8Array, environ: Uint8Array, ramBytes: number): ExecPlan | null {
  const argv = nulTerminated(cmdline);
  const env = nulTerminated(environ);
  const prefix = new TextEncoder().encode(`${FORCE_RAM_SIZE_VAR}=`);
  if (argv.length === 0 || env.some((v) => startsWith(v, prefix))) return null;
  const added = new TextEncoder().encode(`${FORCE_RAM_SIZE_VAR}=${ramBytes}\0`);
  return { path: new TextEncoder().encode("/proc/self/exe\0"), argv, env: [...env, added] };
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** The NUL-terminated strings in `bytes`, each with its NUL (a last one without is given one). */
function nulTerminated(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let from = 0; from < bytes.length; ) {
    const nul = bytes.indexOf(0, from);
    if (nul < 0) {
      const last = new Uint8Array(bytes.length - from + 1); // ends in 0
      last.set(bytes.subarray(from));
      out.push(last);
      break;
    }
    out.push(bytes.slice(from, nul + 1));
    from = nul + 1;
  }
  return out;
}

/**
 * Re-executes this process with FORCE_RAM_SIZE_VAR set to `ramBytes`, unless
 * it is already set; `execve` is the runtime's (ffi-bun.ts). Returns only
 * when no exec happened: null when none was needed, or why it failed.
 */
export function reexecWithRamSize(ramBytes: number, execve: (plan: ExecPlan) => string): string | null {
  let plan: ExecPlan | null;
  try {
    plan = execPlan(readFileSync("/proc/self/cmdline"), readFileSync("/proc/self/environ"), ramBytes);
  } catch (err) {
    return `cannot read /proc/self: ${(err as Error).message}`;
  }
  return plan ? execve(plan) : null;
}
