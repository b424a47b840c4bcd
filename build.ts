// `npm run build`: compiles src/main.ts into standalone executables
// dist/boundary-relay-<os>-<arch> (the names install.sh downloads), each
// with a sha256sum-format .sha256 file, plus dist/boundary-relay for the
// host. Cross-builds the other Linux architecture when the Bun runtime for
// it can be had (node_modules, local cache, or `npm pack`); otherwise it
// says so and skips it. Prints sizes and the host binary's cold start.
//
//   bun build.ts            host + other Linux arch
//   BOUNDARY_RELAY_CROSS=0  host only
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { formatColdStart, measureColdStart } from "./bench/cold-start.ts";

type Os = "linux" | "darwin";
type Arch = "x64" | "arm64";
interface Target {
  os: Os;
  arch: Arch;
}

const ROOT = import.meta.dirname;
const DIST = join(ROOT, "dist");
const ENTRY = join(ROOT, "src", "main.ts");
/** Worker modules: a compiled binary contains only the entry points it was built from. */
const WORKER_ENTRIES = [
  join(ROOT, "src", "process", "reader-worker.ts"),
  join(ROOT, "src", "coderd", "store", "sqlite-writer-worker.ts"),
  join(ROOT, "src", "coderd", "store", "query-worker.ts"),
];
const BUN = process.execPath;

const nameOf = (t: Target) => `boundary-relay-${t.os}-${t.arch}`;
const bunTargetOf = (t: Target) => `bun-${t.os}-${t.arch}`;
/** npm package holding Bun's runtime for a target (Bun names arm64 "aarch64"). */
const runtimePackageOf = (t: Target) => `@oven/bun-${t.os}-${t.arch === "arm64" ? "aarch64" : "x64"}`;

function hostTarget(): Target {
  const os = process.platform;
  const arch = process.arch;
  if ((os !== "linux" && os !== "darwin") || (arch !== "x64" && arch !== "arm64")) {
    throw new Error(`unsupported build host ${os}/${arch}: boundary-relay ships for linux|darwin on x64|arm64`);
  }
  return { os, arch };
}

/** Short commit, with "-dirty" when the tree has uncommitted changes; "unknown" outside git. */
function gitCommit(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return "unknown";
  }
}

function bunVersion(): string {
  return execFileSync(BUN, ["--version"], { encoding: "utf8" }).trim();
}

/**
 * Path of a Bun runtime binary for `t`, for --compile-executable-path:
 * the installed optional dependency, else a cached `npm pack` of it, else
 * one fetched now. null when none can be had (offline, no npm).
 */
function crossRuntime(t: Target): string | null {
  const pkg = runtimePackageOf(t);
  const installed = join(ROOT, "node_modules", pkg, "bin", "bun");
  if (existsSync(installed)) return installed;
  const version = bunVersion();
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "boundary-relay", "bun-runtimes", `${pkg.replace("/", "_")}-${version}`);
  const cached = join(cache, "package", "bin", "bun");
  if (existsSync(cached)) return cached;
  mkdirSync(cache, { recursive: true });
  const pack = spawnSync("npm", ["pack", "--prefer-offline", "--silent", `${pkg}@${version}`], { cwd: cache, encoding: "utf8" });
  const tarball = pack.status === 0 ? pack.stdout.trim().split("\n").pop() : undefined;
  if (!tarball) {
    console.log(`  note: cannot fetch ${pkg}@${version} (${(pack.stderr || pack.error?.message || "").trim().split("\n")[0]})`);
    return null;
  }
  const untar = spawnSync("tar", ["xzf", tarball], { cwd: cache, encoding: "utf8" });
  rmSync(join(cache, tarball), { force: true });
  return untar.status === 0 && existsSync(cached) ? cached : null;
}

function compile(t: Target, commit: string, executablePath?: string): string {
  const outfile = join(DIST, nameOf(t));
  const args = ["build", "--compile", "--minify", `--target=${bunTargetOf(t)}`, `--outfile=${outfile}`];
  args.push(`--define=BOUNDARY_RELAY_COMMIT=${JSON.stringify(commit)}`);
  if (executablePath) args.push(`--compile-executable-path=${executablePath}`);
  args.push(ENTRY, ...WORKER_ENTRIES);
  const result = spawnSync(BUN, args, { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`bun build --compile for ${bunTargetOf(t)} failed:\n${result.stdout}${result.stderr}`);
  return outfile;
}

/** Writes `<hex>  <file>` (sha256sum format) next to the binary. */
function writeChecksum(file: string, name: string): string {
  const hex = createHash("sha256").update(readFileSync(file)).digest("hex");
  writeFileSync(`${file}.sha256`, `${hex}  ${name}\n`);
  return hex;
}

function report(file: string, name: string): void {
  const hex = writeChecksum(file, name);
  const mb = statSync(file).size / (1024 * 1024);
  console.log(`  dist/${name}  ${mb.toFixed(1)} MiB  sha256 ${hex.slice(0, 16)}…`);
}

async function main(): Promise<void> {
  const host = hostTarget();
  const commit = gitCommit();
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  console.log(`building boundary-relay (commit ${commit}) with bun ${bunVersion()}`);

  const hostFile = compile(host, commit);
  report(hostFile, nameOf(host));
  symlinkSync(nameOf(host), join(DIST, "boundary-relay"));
  console.log(`  dist/boundary-relay -> ${nameOf(host)}`);

  const others: Target[] = (["x64", "arm64"] as const).map((arch) => ({ os: "linux" as const, arch })).filter((t) => nameOf(t) !== nameOf(host));
  for (const t of others) {
    if (process.env.BOUNDARY_RELAY_CROSS === "0") {
      console.log(`  skipped ${nameOf(t)}: BOUNDARY_RELAY_CROSS=0`);
      continue;
    }
    const runtime = crossRuntime(t);
    if (!runtime) {
      console.log(`  skipped ${nameOf(t)}: no Bun runtime for ${bunTargetOf(t)} available offline`);
      continue;
    }
    report(compile(t, commit, runtime), nameOf(t));
  }

  const version = spawnSync(hostFile, ["version"], { encoding: "utf8" });
  if (version.status !== 0) throw new Error(`dist/${nameOf(host)} version failed: ${version.stderr}`);
  console.log(`  ${version.stdout.trim()}`);
  console.log(`  ${formatColdStart(await measureColdStart(hostFile, "version", 5))}`);
  console.log("  (time to /readyz of the agent: bun bench/cold-start.ts --mode readyz dist/boundary-relay)");
}

await main();
