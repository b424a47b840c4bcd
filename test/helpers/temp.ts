// A fresh directory under $TMPDIR (or /tmp), unique per call, and how to remove it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  dir: string;
  cleanup: () => void;
}

export function tempDir(prefix = "br-test-"): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
