// Fails when src/gen is stale: regenerates from proto/ into a temporary
// copy of the tree and compares.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function snapshot(dir: string): Map<string, string> {
  return new Map(listFiles(dir).map((f) => [relative(dir, f), readFileSync(f, "utf8")]));
}

const root = join(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "gen-check-"));
try {
  for (const f of ["proto", "buf.yaml", "buf.gen.yaml"]) cpSync(join(root, f), join(work, f), { recursive: true });
  const buf = join(root, "node_modules", ".bin", "buf");
  const env = { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` };
  const proc = Bun.spawnSync([buf, "generate"], { cwd: work, env, stderr: "inherit" });
  if (proc.exitCode !== 0) throw new Error(`buf generate failed (${proc.exitCode})`);
  const fresh = snapshot(join(work, "src", "gen"));
  const committed = snapshot(join(root, "src", "gen"));
  const stale = [...new Set([...fresh.keys(), ...committed.keys()])].filter((k) => fresh.get(k) !== committed.get(k));
  if (stale.length > 0) {
    console.error(`src/gen is stale (run npm run gen): ${stale.join(", ")}`);
    process.exit(1);
  }
  console.log(`src/gen is up to date (${fresh.size} files)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
