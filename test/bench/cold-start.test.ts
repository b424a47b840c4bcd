// bench/cold-start.ts against stand-in binaries (shell scripts): both
// modes measure, and a binary that fails or never gets ready is an error.
// No timing assertions: only that the numbers are consistent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatColdStart, measureColdStart } from "../../bench/cold-start.ts";

let dir: string;

/** Writes an executable shell script named `name`. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cold-start-test-"));
  // A stand-in `agent`: serves /readyz on the --http-listen address it is given.
  writeFileSync(
    join(dir, "agent.ts"),
    `const at = process.argv.indexOf("--http-listen");
const [hostname, port] = process.argv[at + 1]!.split(":");
Bun.serve({ hostname, port: Number(port), fetch: (req) => new Response(new URL(req.url).pathname === "/readyz" ? "ready" : "no", { status: new URL(req.url).pathname === "/readyz" ? 200 : 404 }) });
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("cold start bench", () => {
  test("version mode measures spawn to exit", async () => {
    const r = await measureColdStart(script("ok", 'echo "boundary-relay 0.0.0"'), "version", 3);
    expect(r.runs).toBe(3);
    expect(r.minMs).toBeGreaterThan(0);
    expect(r.minMs).toBeLessThanOrEqual(r.medianMs);
    expect(r.medianMs).toBeLessThanOrEqual(r.maxMs);
    expect(formatColdStart(r)).toContain("`version`, 3 runs");
  });

  test("version mode fails when the binary fails", async () => {
    await expect(measureColdStart(script("broken", "exit 3"), "version", 1)).rejects.toThrow("exited with 3");
  });

  test("readyz mode measures spawn to /readyz 200 and stops the agent", async () => {
    const fake = script("agent-ready", `shift; exec "${process.execPath}" "${join(dir, "agent.ts")}" "$@"`);
    const r = await measureColdStart(fake, "readyz", 2);
    expect(r.mode).toBe("readyz");
    expect(r.minMs).toBeLessThanOrEqual(r.maxMs);
  });

  test("readyz mode fails when the agent exits before it is ready", async () => {
    await expect(measureColdStart(script("agent-dies", "exit 1"), "readyz", 1)).rejects.toThrow("before /readyz");
  });
});
