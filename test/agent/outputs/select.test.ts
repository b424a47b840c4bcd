// Output selection: what is really configuration becomes a ConfigError
// naming the field and the flag, so the CLI exits 2 with a clear message.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAgentMetrics } from "../../../src/agent/metrics.ts";
import { selectOutput } from "../../../src/agent/outputs/select.ts";
import { ConfigError } from "../../../src/config/load.ts";
import { agentConfig } from "../../helpers/agent.ts";
import { tempDir } from "../../helpers/temp.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** The ConfigError issues selectOutput throws for --output coderd plus `extra(dir)`. */
async function configErrorOf(extra: (dir: string) => string[]) {
  const { dir, cleanup } = tempDir("br-select-");
  cleanups.push(cleanup);
  const config = agentConfig(dir, ["--output", "coderd", "--coderd-url", "https://127.0.0.1:1", "--agent-token", "t", ...extra(dir)]);
  const err = await selectOutput(config, { metrics: createAgentMetrics(), log: () => {} }).then(
    (out) => out.close(Date.now()).then(() => null),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).issues;
}

test("an unreadable --ca-file is a ConfigError on ca_file, from --ca-file, naming the path", async () => {
  const issues = await configErrorOf((dir) => ["--spool-dir", join(dir, "spool"), "--ca-file", join(dir, "missing.pem")]);
  expect(issues).toHaveLength(1);
  expect(issues[0]).toMatchObject({ field: "ca_file", where: "--ca-file" });
  expect(issues[0]!.message).toContain("missing.pem");
});

test("an unusable --spool-dir is a ConfigError on spool_dir, from --spool-dir, naming the path", async () => {
  const issues = await configErrorOf((dir) => {
    writeFileSync(join(dir, "a-file"), "");
    return ["--spool-dir", join(dir, "a-file", "spool")];
  });
  expect(issues[0]).toMatchObject({ field: "spool_dir", where: "--spool-dir" });
  expect(issues[0]!.message).toContain("a-file");
});
