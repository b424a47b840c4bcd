// The generated configuration reference: covers every option of both
// roles, and the committed docs/configuration.md is not stale.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { agentOptions } from "../../src/config/agent.ts";
import { coderdOptions } from "../../src/config/coderd.ts";
import { envOf, flagOf } from "../../src/config/load.ts";
import { DOC_PATH, renderConfigDocs } from "../../scripts/gen-config-docs.ts";

describe("docs/configuration.md", () => {
  const doc = renderConfigDocs();

  test("lists every visible option of both roles with its flag, env names and file key", () => {
    for (const [role, options] of [["agent", agentOptions({})], ["coderd", coderdOptions({})]] as const) {
      const section = doc.split(`## ${role}\n`)[1]!.split("\n## ")[0]!;
      for (const o of options.filter((o) => !o.hidden)) {
        const line = section.split("\n").find((l) => l.startsWith(`| \`${flagOf(o.key)}`));
        expect(line, `${role} ${o.key}`).toBeDefined();
        for (const name of [envOf(o.key), ...(o.env ?? []), o.key]) expect(line!).toContain(`\`${name}\``);
      }
    }
  });

  test("defaults do not depend on the machine that generated them", () => {
    expect(doc).not.toContain(`${homedir()}/.local`);
    expect(doc).toContain("`~/.local/state/boundary-relay/spool`");
    expect(doc).toContain("`sqlite:~/.local/state/boundary-relay/coderd.db`");
  });

  test("the committed file is up to date (regenerate: npx bun scripts/gen-config-docs.ts)", () => {
    expect(readFileSync(DOC_PATH, "utf8")).toBe(doc);
  });
});
