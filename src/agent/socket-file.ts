// The socket file on disk: clearing a stale one before listening, and
// removing only our own at the end.
// Guarantees:
// - a path that is not a socket, or a socket another process listens on, is
//   never removed (SocketPathError);
// - the agent removes the socket file only while it is still the very file
//   it created (same device and inode): an agent stopping while a new agent
//   already listens on the same path leaves the new agent's socket alone.
// Not guaranteed: a replacement in the microseconds between our lstat and
// our unlink (the kernel offers no unlink-if-inode); and while our listener
// stops (Bun and libuv unlink its path blindly), another agent's file is
// absent from the path for the moment between that unlink and our putting
// it back.
import { existsSync, linkSync, lstatSync, renameSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";

export class SocketPathError extends Error {
  override name = "SocketPathError";
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
  if (!stat.isSocket()) {
    throw new SocketPathError(`${path} exists and is not a socket; refusing to remove it (choose another --socket or remove it yourself)`);
  }
  if (await socketAnswers(path)) {
    throw new SocketPathError(`${path} is in use: another process is listening on it`);
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
