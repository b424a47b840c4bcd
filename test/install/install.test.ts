// install.sh against a real local HTTP server of fake release files: the
// happy paths (latest, --version, mirrors, env, default prefix, arch
// mapping, wget and shasum fallbacks, idempotence) and every refusal
// (404, bad checksum, unwritable prefix, no downloader, unsupported
// platform), each checked to install nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HttpServer } from "../../src/runtime/adapter.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  fakeBinary,
  hostFile,
  INSTALL_TOOLS,
  publish,
  runInstall,
  serveDirectory,
  toolbox,
  unameShim,
} from "./fixture.ts";

let work: string;
let server: HttpServer;
let url: string;
let requests: string[];
let caseNo = 0;

const ALL_FILES = ["linux", "darwin"].flatMap((os) => ["x64", "arm64"].map((arch) => `boundary-relay-${os}-${arch}`));

beforeAll(async () => {
  work = tempDir("install-test-").dir;
  const site = join(work, "site");
  for (const file of ALL_FILES) {
    publish(join(site, "releases", "latest", "download"), file, fakeBinary(`latest ${file}`));
    publish(join(site, "releases", "download", "v1.2.3"), file, fakeBinary(`1.2.3 ${file}`));
    publish(join(site, "mirror", "good"), file, fakeBinary(`mirror ${file}`));
    publish(join(site, "mirror", "tampered"), file, fakeBinary("evil"), fakeBinary(`mirror ${file}`));
  }
  publish(join(site, "mirror", "malformed"), hostFile, fakeBinary("x"));
  writeFileSync(join(site, "mirror", "malformed", `${hostFile}.sha256`), "not-a-checksum  file\n");
  ({ url, server, requests } = await serveDirectory(site));
});

afterAll(async () => {
  await server?.stop(true);
  rmSync(work, { recursive: true, force: true });
});

interface Case {
  dir: string;
  prefix: string;
  env: Record<string, string>;
}

/** A fresh HOME/TMPDIR/prefix, with PATH = a toolbox of every install tool plus `shims`. */
function newCase(opts: { tools?: string[]; shims?: Record<string, string> } = {}): Case {
  const dir = join(work, `case-${++caseNo}`);
  const bin = toolbox(join(dir, "bin"), opts.tools ?? INSTALL_TOOLS, opts.shims);
  const home = join(dir, "home");
  const tmp = join(dir, "tmp");
  for (const d of [home, tmp]) mkdirSync(d, { recursive: true });
  return {
    dir,
    prefix: join(dir, "prefix", "bin"),
    env: { PATH: bin, HOME: home, TMPDIR: tmp, BOUNDARY_RELAY_RELEASES_URL: `${url}/releases` },
  };
}

const installed = (c: Case) => join(c.prefix, "boundary-relay");
const read = (path: string) => readFileSync(path, "utf8");

/** Nothing but `allowed` in the prefix and nothing left in TMPDIR. */
function expectClean(c: Case, allowed: string[] = []): void {
  const prefixFiles = existsSync(c.prefix) ? readdirSync(c.prefix) : [];
  expect(prefixFiles.sort()).toEqual(allowed);
  expect(readdirSync(c.env.TMPDIR!)).toEqual([]);
}

describe("install.sh", () => {
  test("--help prints usage and exits 0", async () => {
    const c = newCase();
    const r = await runInstall(["--help"], c.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("usage: install.sh");
    expect(r.stdout).toContain("--base-url");
  });

  test("an unknown argument is a usage error (exit 2)", async () => {
    const c = newCase();
    const r = await runInstall(["--frobnicate"], c.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown argument: --frobnicate");
  });

  test("installs the latest release by default, executable, checksum verified", async () => {
    const c = newCase();
    const r = await runInstall(["--prefix", c.prefix], c.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${url}/releases/latest/download`);
    expect(read(installed(c))).toBe(fakeBinary(`latest ${hostFile}`));
    expect(statSync(installed(c)).mode & 0o777).toBe(0o755);
    expectClean(c, ["boundary-relay"]);
  });

  test("--version picks <releases>/download/v<version> (with or without the v)", async () => {
    for (const v of ["1.2.3", "v1.2.3"]) {
      const c = newCase();
      const r = await runInstall(["--version", v, `--prefix=${c.prefix}`], c.env);
      expect(r.code).toBe(0);
      expect(read(installed(c))).toBe(fakeBinary(`1.2.3 ${hostFile}`));
    }
  });

  test("BOUNDARY_RELAY_VERSION, BOUNDARY_RELAY_BASE_URL and BOUNDARY_RELAY_PREFIX are honoured", async () => {
    const c = newCase();
    const env = { ...c.env, BOUNDARY_RELAY_VERSION: "1.2.3", BOUNDARY_RELAY_PREFIX: c.prefix };
    expect((await runInstall([], env)).code).toBe(0);
    expect(read(installed(c))).toBe(fakeBinary(`1.2.3 ${hostFile}`));

    const m = newCase();
    const mirrorEnv = { ...m.env, BOUNDARY_RELAY_BASE_URL: `${url}/mirror/good/`, BOUNDARY_RELAY_PREFIX: m.prefix };
    expect((await runInstall([], mirrorEnv)).code).toBe(0);
    expect(read(installed(m))).toBe(fakeBinary(`mirror ${hostFile}`));
  });

  test("--base-url installs from a mirror directory", async () => {
    const c = newCase();
    const r = await runInstall(["--base-url", `${url}/mirror/good`, "--prefix", c.prefix], c.env);
    expect(r.code).toBe(0);
    expect(read(installed(c))).toBe(fakeBinary(`mirror ${hostFile}`));
  });

  test("without root the default prefix is ~/.local/bin", async () => {
    const c = newCase({ shims: { id: 'echo 1000' } });
    const r = await runInstall([], c.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("is not on your PATH");
    expect(read(join(c.env.HOME!, ".local", "bin", "boundary-relay"))).toBe(fakeBinary(`latest ${hostFile}`));
  });

  test("as root the default prefix is /usr/local/bin (checked via a failing download)", async () => {
    const c = newCase({ shims: { id: 'echo 0' } });
    const r = await runInstall(["--base-url", `${url}/missing`], c.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("into /usr/local/bin");
  });

  test("maps uname aarch64/Darwin to the arm64/darwin release files", async () => {
    const linux = newCase({ shims: { uname: unameShim("Linux", "aarch64") } });
    expect((await runInstall(["--prefix", linux.prefix], linux.env)).code).toBe(0);
    expect(read(installed(linux))).toBe(fakeBinary("latest boundary-relay-linux-arm64"));

    const mac = newCase({ shims: { uname: unameShim("Darwin", "x86_64") } });
    expect((await runInstall(["--prefix", mac.prefix], mac.env)).code).toBe(0);
    expect(read(installed(mac))).toBe(fakeBinary("latest boundary-relay-darwin-x64"));
  });

  test("a second run says already installed and leaves the binary alone", async () => {
    const c = newCase();
    expect((await runInstall(["--prefix", c.prefix], c.env)).code).toBe(0);
    const before = statSync(installed(c));
    const r = await runInstall(["--prefix", c.prefix], c.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("already installed");
    const after = statSync(installed(c));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expectClean(c, ["boundary-relay"]);
  });

  test("a different release replaces the installed one", async () => {
    const c = newCase();
    expect((await runInstall(["--prefix", c.prefix], c.env)).code).toBe(0);
    const r = await runInstall(["--version", "1.2.3", "--prefix", c.prefix], c.env);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("already installed");
    expect(read(installed(c))).toBe(fakeBinary(`1.2.3 ${hostFile}`));
    expectClean(c, ["boundary-relay"]);
  });

  test("falls back to wget when curl is missing", async () => {
    const c = newCase({ tools: INSTALL_TOOLS.filter((t) => t !== "curl") });
    const r = await runInstall(["--prefix", c.prefix], c.env);
    expect(r.code).toBe(0);
    expect(read(installed(c))).toBe(fakeBinary(`latest ${hostFile}`));
  });

  test("falls back to shasum -a 256 when sha256sum is missing", async () => {
    const c = newCase({ tools: INSTALL_TOOLS.filter((t) => t !== "sha256sum") });
    const r = await runInstall(["--prefix", c.prefix], c.env);
    expect(r.code).toBe(0);
    expect(read(installed(c))).toBe(fakeBinary(`latest ${hostFile}`));
  });
});

describe("install.sh refuses and installs nothing", () => {
  test("404: a version that does not exist", async () => {
    const c = newCase();
    const r = await runInstall(["--version", "9.9.9", "--prefix", c.prefix], c.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not download ${url}/releases/download/v9.9.9/${hostFile}.sha256`);
    expectClean(c);
  });

  test("404: a binary missing next to its checksum", async () => {
    const c = newCase({ shims: { uname: unameShim("Linux", "x86_64") } });
    rmSync(join(work, "site", "mirror", "good", "boundary-relay-linux-x64"), { force: true });
    try {
      const r = await runInstall(["--base-url", `${url}/mirror/good`, "--prefix", c.prefix], c.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`could not download ${url}/mirror/good/boundary-relay-linux-x64 `);
      expectClean(c);
    } finally {
      publish(join(work, "site", "mirror", "good"), "boundary-relay-linux-x64", fakeBinary("mirror boundary-relay-linux-x64"));
    }
  });

  test("bad checksum: refuses, keeps the installed binary, leaves no staged file", async () => {
    const c = newCase();
    expect((await runInstall(["--prefix", c.prefix], c.env)).code).toBe(0);
    const r = await runInstall(["--base-url", `${url}/mirror/tampered`, "--prefix", c.prefix], c.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("checksum mismatch");
    expect(r.stderr).toContain("nothing was installed");
    expect(read(installed(c))).toBe(fakeBinary(`latest ${hostFile}`));
    expectClean(c, ["boundary-relay"]);

    const fresh = newCase();
    const r2 = await runInstall(["--base-url", `${url}/mirror/tampered`, "--prefix", fresh.prefix], fresh.env);
    expect(r2.code).toBe(1);
    expectClean(fresh);
  });

  test("a .sha256 file that holds no checksum", async () => {
    const c = newCase();
    const r = await runInstall(["--base-url", `${url}/mirror/malformed`, "--prefix", c.prefix], c.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not hold a sha256 checksum");
    expectClean(c);
  });

  test("unwritable prefix: a path through a regular file", async () => {
    const c = newCase();
    const blocker = join(c.dir, "blocker");
    writeFileSync(blocker, "");
    for (const prefix of [join(blocker, "bin"), blocker]) {
      const r = await runInstall(["--prefix", prefix], c.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot use prefix ${prefix}`);
      expect(r.stdout).toBe("");
    }
    expect(read(blocker)).toBe("");
  });

  test("a prefix that cannot be created (e.g. a read-only file system) fails before anything is downloaded", async () => {
    const c = newCase({ shims: { mkdir: 'echo "mkdir: cannot create directory: Read-only file system" >&2; exit 1' } });
    const before = requests.length;
    const r = await runInstall(["--prefix", c.prefix], c.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot create prefix directory ${c.prefix}`);
    expect(requests.slice(before)).toEqual([]); // not the 105 MB binary, not even its checksum
    expectClean(c);
  });

  test("--base-url without --version does not claim 'latest'; the last line says the version the binary reports", async () => {
    const c = newCase();
    const r = await runInstall(["--base-url", `${url}/mirror/good`, "--prefix", c.prefix], c.env);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("latest");
    expect(r.stdout).toContain(`installing boundary-relay (the version at ${url}/mirror/good)`);
    expect(r.stdout).toContain(`installed ${installed(c)}: boundary-relay mirror ${hostFile} (fake)`);
  });

  test("a prefix created for the install is removed again when the install fails", async () => {
    const c = newCase();
    const r = await runInstall(["--base-url", `${url}/mirror/tampered`, "--prefix", c.prefix], c.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("checksum mismatch");
    expect(existsSync(join(c.dir, "prefix"))).toBe(false);
    expectClean(c);
  });

  test("no curl and no wget", async () => {
    const c = newCase({ tools: INSTALL_TOOLS.filter((t) => t !== "curl" && t !== "wget") });
    const r = await runInstall(["--prefix", c.prefix], c.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("neither curl nor wget is installed");
    expectClean(c);
  });

  test("unsupported operating system and architecture", async () => {
    const os = newCase({ shims: { uname: unameShim("FreeBSD", "amd64") } });
    const r1 = await runInstall(["--prefix", os.prefix], os.env);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain("unsupported operating system: FreeBSD");
    expectClean(os);

    const arch = newCase({ shims: { uname: unameShim("Linux", "riscv64") } });
    const r2 = await runInstall(["--prefix", arch.prefix], arch.env);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("unsupported architecture: riscv64");
    expectClean(arch);
  });
});
