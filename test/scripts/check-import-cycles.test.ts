import { afterEach, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findCycles, importGraph } from "../../scripts/check-import-cycles.ts";
import { tempDir } from "../helpers/temp.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  dir = tempDir("cycles-").dir;
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const names = (cycles: string[][]) => cycles.map((c) => c.map((p) => p.slice(dir.length + 1)).join(" → "));

test("a command and the dispatcher importing each other, dynamically one way, is a cycle", () => {
  const root = tree({
    "cli/run.ts": 'const c = { a: () => import("./agent.ts") };\n',
    "cli/agent.ts": 'import { type Env, EXIT_OK } from "./run.ts";\n',
  });
  expect(names(findCycles(importGraph(root)))).toEqual(["cli/agent.ts → cli/run.ts → cli/agent.ts"]);
});

test("type-only imports and re-exports count; a leaf module breaks the cycle", () => {
  const cyclic = tree({
    "a.ts": 'import type { B } from "./b.ts";\n',
    "b.ts": 'export { A } from "./a.ts";\n',
  });
  expect(findCycles(importGraph(cyclic))).toHaveLength(1);
  rmSync(dir, { recursive: true });
  const leaf = tree({
    "cli/run.ts": 'import { EXIT_OK } from "./exit.ts";\nconst c = () => import("./agent.ts");\n',
    "cli/agent.ts": 'import { EXIT_OK } from "./exit.ts";\nimport { z } from "zod";\n',
    "cli/exit.ts": "export const EXIT_OK = 0;\n",
  });
  expect(findCycles(importGraph(leaf))).toEqual([]);
});

test("src/ has no import cycle", () => {
  dir = tempDir("cycles-").dir; // nothing to clean but the afterEach
  const cycles = findCycles(importGraph(join(import.meta.dir, "..", "..", "src")));
  expect(cycles.map((c) => c.join(" → "))).toEqual([]);
});
