// The socket file on disk: making its directory and clearing a stale one
// before listening, and removing only our own at the end.
// Guarantees:
// - a path that is not a socket, or a socket another process listens on, is
//   never removed (SocketPathError "not_a_socket" / "in_use"); a directory
//   that cannot be made is SocketPathError "no_directory";
// - the agent removes the socket file only while it is still the very file
//   it created (same device and inode): an agent stopping while a new agent
//   already listens on the same path leaves the new agent's socket alone.
// Not guaranteed: a replacement in the microseconds between our lstat and
// our unlink (the kernel offers no unlink-if-inode); and while our listener
// stops (Bun and libuv unlink its path blindly), another agent's file is
// absent from the path for the moment between that unlink and our putting
// it back.
import { existsSync, linkSync, lstatSync, mkdirSync, renameSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import { probeDirectory } from "../config/probe.ts";

/** Why --socket cannot be listened on: "in_use" is another process (a runtime failure); the others are the path's fault. */
export type SocketPathProblem = "not_a_socket" | "in_use" | "no_directory";

export class SocketPathError extends Error {
  override name = "SocketPathError";
  constructor(
    readonly problem: SocketPathProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function noDirectory(path: string, err: unknown): SocketPathError {
  return new SocketPathError("no_directory", `cannot create the directory ${dirname(path)} for the socket: ${messageOf(err)}`, { cause: err });
}

/** Makes the socket's directory (start-up). */
export function makeSocketDirectory(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw noDirectory(path, err);
  }
}

/** What start-up would refuse about `path` without a listener's help, tried and undone (`config check`). */
export function probeSocketPath(path: string): void {
  try {
    probeDirectory(dirname(path));
  } catch (err) {
    throw noDirectory(path, err);
  }
  const stat = lstatOrNull(path);
  if (stat !== null && !stat.isSocket()) throw notASocket(path);
}

function notASocket(path: string): SocketPathError {
  return new SocketPathError("not_a_socket", `${path} exists and is not a socket; refusing to remove it (choose another --socket or remove it yourself)`);
}

/** Which file a path named when we created it. */
export interface SocketFileIdentity {
  dev: number;
  ino: number;
}

/** Removes a stale socket at `path`; refuses anything that is not a socket or still has a listener. */
export async function clearStaleSocket(path: string): Promise<void> {
  const stat = lstatOrNull(path);
  if (stat === null) return;
  if (!stat.isSocket()) throw notASocket(path);
  if (await socketAnswers(path)) {
    throw new SocketPathError("in_use", `${path} is in use: another process is listening on it`);
  }
  unlinkSync(path);
}

/** The identity of the socket file at `path` now (call right after listening on it). */
export function socketFileIdentity(path: string): SocketFileIdentity | null {
  const stat = lstatOrNull(path);
  return stat?.isSocket() ? { dev: stat.dev, ino: stat.ino } : null;
}

/** Whether `path` still names the file `ours` identifies. */
export function isOurSocketFile(path: string, ours: SocketFileIdentity): boolean {
  const now = socketFileIdentity(path);
  return now !== null && now.dev === ours.dev && now.ino === ours.ino;
}

/** Removes the socket file at `path` if it is still ours; true when it removed it. */
export function removeOurSocketFile(path: string, ours: SocketFileIdentity): boolean {
  if (!isOurSocketFile(path, ours)) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false; // gone meanwhile
  }
}

/**
 * Runs `stopListener`, which unlinks `path` whatever file it names (Bun and
 * libuv do), without losing a socket file another process has put there:
 * that file gets a second name first and is put back afterwards.
 */
export async function stopKeepingForeignFile(path: string, ours: SocketFileIdentity | null, stopListener: () => Promise<void>): Promise<void> {
  const now = socketFileIdentity(path);
  if (now === null || ours === null || (now.dev === ours.dev && now.ino === ours.ino)) return stopListener();
  const aside = `${path}.${process.pid}.keep`;
  linkSync(path, aside);
  try {
    await stopListener();
  } finally {
    renameSync(aside, path); // atomic; a no-op when the path still names the same file
    if (existsSync(aside)) unlinkSync(aside);
  }
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}
