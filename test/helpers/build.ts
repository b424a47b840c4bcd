// The compiled binary for tests that run it: dist/ is (re)built with
// `bun build.ts` (host only) when the host binary is missing or older than
// src/, so a stale binary never stands in for the code under test and a
// fresh clone runs these tests instead of skipping them.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
export const DIST = join(ROOT, "dist");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const st = statSync(join(dir, name));
    if (st.isFile() && st.mtimeMs > newest) newest = st.mtimeMs;
  }
  return newest;
}

/** Builds dist/ unless `file` there (default: dist/boundary-relay) is newer than src/; returns dist/. */
export function ensureBuilt(file = "boundary-relay"): string {
  const path = join(DIST, file);
  if (existsSync(path) && statSync(path).mtimeMs >= newestMtime(join(ROOT, "src"))) return DIST;
  const r = spawnSync(process.execPath, ["build.ts"], { cwd: ROOT, env: { ...process.env, BOUNDARY_RELAY_CROSS: "0" }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bun build.ts failed:\n${r.stdout}${r.stderr}`);
  return DIST;
}
