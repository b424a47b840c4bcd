// bench/cold-start.ts against stand-in binaries (shell scripts): both
// modes measure what they say (a stand-in that takes 300 ms to finish, or
// answers 503 for 300 ms before 200, is never measured faster than that:
// a lower bound, safe under load), the agent is stopped after each run,
// and a binary that fails or never gets ready is an error.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatColdStart, measureColdStart } from "../../bench/cold-start.ts";
import { tempDir } from "../helpers/temp.ts";

let dir: string;

/** Writes an executable shell script named `name`. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(() => {
  dir = tempDir("cold-start-test-").dir;
  // A stand-in `agent`: on --http-listen, /readyz answers 503 for its first
  // 300 ms, then 200; it notes each SIGTERM in stopped.log.
  writeFileSync(
    join(dir, "agent.ts"),
    `import { appendFileSync } from "node:fs";
const at = process.argv.indexOf("--http-listen");
const [hostname, port] = process.argv[at + 1]!.split(":");
const readyAt = Date.now() + 300;
Bun.serve({ hostname, port: Number(port), fetch: (req) => new URL(req.url).pathname !== "/readyz" ? new Response("no", { status: 404 }) : Date.now() < readyAt ? new Response("wait", { status: 503 }) : new Response("ready") });
process.on("SIGTERM", () => { appendFileSync(${JSON.stringify(join(dir, "stopped.log"))}, "stopped\\n"); process.exit(0); });
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("cold start bench", () => {
  test("version mode measures spawn to exit: a 300 ms `version` is never timed under 300 ms", async () => {
    const r = await measureColdStart(script("slow", 'sleep 0.3; echo "boundary-relay 0.0.0"'), "version", 2);
    expect(r.runs).toBe(2);
    expect(r.minMs).toBeGreaterThanOrEqual(300);
    expect(formatColdStart(r)).toContain("`version`, 2 runs");
  });

  test("version mode fails when the binary fails", async () => {
    await expect(measureColdStart(script("broken", "exit 3"), "version", 1)).rejects.toThrow("exited with 3");
  });

  test("readyz mode waits for /readyz 200 (not any answer) and stops the agent after every run", async () => {
    const fake = script("agent-ready", `shift; exec "${process.execPath}" "${join(dir, "agent.ts")}" "$@"`);
    const r = await measureColdStart(fake, "readyz", 2);
    expect(r.mode).toBe("readyz");
    expect(r.minMs).toBeGreaterThanOrEqual(300); // the 503s are not counted as ready
    const stopped = join(dir, "stopped.log");
    expect(existsSync(stopped) ? readFileSync(stopped, "utf8").split("\n").filter(Boolean).length : 0).toBe(3); // warm-up + 2 runs
  });

  test("readyz mode fails when the agent exits before it is ready", async () => {
    await expect(measureColdStart(script("agent-dies", "exit 1"), "readyz", 1)).rejects.toThrow("before /readyz");
  });
});
