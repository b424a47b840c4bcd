// install.sh with the REAL compiled binary: serves the build output
// directory (dist/, or BOUNDARY_RELAY_DIST) as the download base, installs
// from it, and runs the installed binary. dist/ is built first when it is
// missing or stale (test/helpers/build.ts); with BOUNDARY_RELAY_DIST set
// (as .ci/run does) that directory is used as it is, and a missing binary
// there is a failure.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import type { HttpServer } from "../../src/runtime/adapter.ts";
import { hostFile, runInstall, serveDirectory, sha256 } from "./fixture.ts";
import { tempDir } from "../helpers/temp.ts";
import { ensureBuilt } from "../helpers/build.ts";

const distDir = process.env.BOUNDARY_RELAY_DIST || ensureBuilt(hostFile);

describe(`install.sh with the real ${hostFile} from ${distDir}`, () => {
  let work: string;
  let server: HttpServer;
  let url: string;
  let prefix: string;

  beforeAll(async () => {
    work = tempDir("install-real-").dir;
    prefix = join(work, "bin");
    mkdirSync(join(work, "tmp"));
    ({ url, server } = await serveDirectory(distDir));
  });

  afterAll(async () => {
    await server?.stop(true);
    rmSync(work, { recursive: true, force: true });
  });

  const run = (args: string[]) => spawnSync(join(prefix, "boundary-relay"), args, { encoding: "utf8", timeout: 30_000 });

  test("installs it, verified, and `boundary-relay version` reports version, commit and runtime", async () => {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, TMPDIR: join(work, "tmp") };
    const r = await runInstall(["--base-url", url, "--prefix", prefix], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const expected = readFileSync(join(distDir, `${hostFile}.sha256`), "utf8").split(" ")[0];
    expect(sha256(readFileSync(join(prefix, "boundary-relay")))).toBe(expected!);

    const version = run(["version"]);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(new RegExp(`^boundary-relay ${pkg.version.replaceAll(".", "\\.")} \\(commit [0-9a-f]{7,}(-dirty)?, bun [0-9.]+, `));
    // install.sh's last word is what the binary itself reports.
    expect(r.stdout).toContain(`installed ${join(prefix, "boundary-relay")}: ${version.stdout.trim()}`);
  }, 60_000); // copies and hashes a ~105 MB binary: seconds on a loaded machine

  test("the installed binary's `agent --help` prints usage", () => {
    const help = run(["agent", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout.toLowerCase()).toContain("usage");
  });
});
