// Test fixture for install.sh: a directory of fake release files served
// over real HTTP (Hono via serveHttp), a runner for install.sh with a
// chosen PATH, and "toolbox" bin directories holding only some tools or
// shims of them (to fake uname/id or take curl away).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { Hono } from "hono";
import { type HttpServer, serveHttp } from "../../src/runtime/adapter.ts";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
export const INSTALL_SH = join(REPO_ROOT, "install.sh");

export const hostOs = process.platform === "darwin" ? "darwin" : "linux";
export const hostArch = process.arch === "arm64" ? "arm64" : "x64";
export const hostFile = `boundary-relay-${hostOs}-${hostArch}`;

export const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/** A shell script standing in for the binary; `version` prints `label`. */
export function fakeBinary(label: string): string {
  return `#!/bin/sh
case "$1" in
version) echo "boundary-relay ${label} (fake)" ;;
agent) echo "usage: boundary-relay agent [options]" ;;
*) echo "usage: boundary-relay COMMAND" ;;
esac
`;
}

/** Writes `name` and `name.sha256` into `dir`; `checksumOf` lets a test tamper. */
export function publish(dir: string, name: string, content: Uint8Array | string, checksumOf: Uint8Array | string = content): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), content);
  writeFileSync(join(dir, `${name}.sha256`), `${sha256(checksumOf)}  ${name}\n`);
}

/** Serves files under `root` at their relative paths; anything else is 404. `requests` lists every path asked for. */
export async function serveDirectory(root: string): Promise<{ url: string; server: HttpServer; requests: string[] }> {
  const app = new Hono();
  const requests: string[] = [];
  app.get("*", (c) => {
    requests.push(new URL(c.req.url).pathname);
    const rel = normalize(decodeURIComponent(new URL(c.req.url).pathname)).replace(/^\/+/, "");
    const path = join(root, rel);
    if (rel.startsWith("..") || !existsSync(path)) return c.text("not found", 404);
    return c.body(readFileSync(path), 200, { "content-type": "application/octet-stream" });
  });
  const server = await serveHttp({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  return { url: `http://127.0.0.1:${server.port}`, server, requests };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `/bin/sh install.sh args` with exactly `env` (async: the server shares our event loop). */
export function runInstall(args: string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", [INSTALL_SH, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function which(tool: string, path = process.env.PATH ?? ""): string | null {
  for (const dir of path.split(":")) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return null;
}

/** Tools install.sh uses besides shell builtins. */
export const INSTALL_TOOLS = ["uname", "id", "mkdir", "rmdir", "mktemp", "chmod", "mv", "rm", "cp", "cat", "curl", "wget", "sha256sum", "shasum"];

/**
 * A bin directory holding symlinks to `tools` (those present on this
 * machine) and shell-script `shims` by name; use it alone as PATH.
 */
export function toolbox(dir: string, tools: string[], shims: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  for (const tool of tools) {
    const real = which(tool);
    if (real && !(tool in shims)) symlinkSync(real, join(dir, tool));
  }
  for (const [name, body] of Object.entries(shims)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

/** A shim for uname answering -s and -m as given. */
export function unameShim(system: string, machine: string): string {
  return `case "$1" in -s) echo ${system} ;; -m) echo ${machine} ;; *) echo ${system} ;; esac`;
}

export function ensureDir(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  return path;
}
