// Trying what start-up would do to a directory an option names, then undoing
// it, so that `config check` and start-up cannot disagree about it: a
// directory that cannot be made (sqlite:/proc/x/…) or written is found
// without starting anything, and nothing is left behind.
import { closeSync, mkdirSync, openSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";

/** Makes `dir` (and its parents) 0700 as start-up does, creates and removes a file in it, then removes the directories it made. Throws the filesystem's error. */
export function probeDirectory(dir: string): void {
  const made = mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const probe = join(dir, `.config-check-${process.pid}`);
    closeSync(openSync(probe, "wx", 0o600));
    unlinkSync(probe);
  } finally {
    if (made) rmSync(made, { recursive: true, force: true });
  }
}
