// Runs the real CLI as a child process: `bun src/main.ts ...`, or the
// compiled binary named by BOUNDARY_RELAY_BIN.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

export function cliCommand(args: string[]): [string, string[]] {
  const bin = process.env.BOUNDARY_RELAY_BIN;
  return bin ? [bin, args] : [process.execPath, [MAIN, ...args]];
}

export interface Child {
  proc: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** The exit code, once the process exited AND its stdout/stderr are closed (all output read). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], env: Record<string, string | undefined> = {}): Child {
  const [cmd, argv] = cliCommand(args);
  const proc = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout.on("data", (c) => (out += c.toString()));
  proc.stderr.on("data", (c) => (err += c.toString()));
  // 'close' comes after 'exit' and after the last 'data' of both streams.
  const exited = new Promise<number | null>((resolve) => proc.once("close", (code) => resolve(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = "SIGTERM") => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}

/** Runs to completion; returns exit code and output. */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}) {
  const child = startCli(args, env);
  child.proc.stdin.end();
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}
