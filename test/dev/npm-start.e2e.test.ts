// `npm start` as a user (or a container runtime) runs and stops it: SIGTERM
// to npm reaches `boundary-relay dev`, which stops both roles cleanly.
import { afterEach, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { tempDir, type TempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";

const ROOT = join(import.meta.dir, "..", "..");
let work: TempDir | null = null;
let group = 0;
afterEach(() => {
  if (group) {
    try {
      process.kill(-group, "SIGKILL"); // npm and anything it left behind
    } catch {}
  }
  group = 0;
  work?.cleanup();
  work = null;
});

test("npm start: SIGTERM to npm stops dev cleanly (coderd and agent), not only npm", async () => {
  work = tempDir("npm-start-");
  const dir = work.dir;
  const npm = spawn("npm", ["start", "--", "--state-dir", join(dir, "state"), "--socket", join(dir, "s.sock"), "--coderd-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"], {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: dir },
  });
  group = npm.pid!;
  let out = "";
  npm.stdout.on("data", (c) => (out += c.toString()));
  npm.stderr.on("data", (c) => (out += c.toString()));
  const allClosed = new Promise<void>((resolve) => npm.once("close", () => resolve()));
  await until(() => out.includes("Ctrl-C stops both"), { timeoutMs: 30_000, what: "the dev banner" });
  npm.kill("SIGTERM");
  await until(() => out.includes("boundary-relay dev: stopped"), { timeoutMs: 20_000, what: "dev to stop after SIGTERM" });
  expect(out).toContain("boundary-relay dev: SIGTERM: stopping the agent, then coderd");
  await allClosed; // every process holding npm's pipes is gone
}, 60_000);
