// The test helpers are one set (test/helpers/): no test file writes its own
// poll loop, temp-dir maker or /metrics reader again. A new one fails here,
// naming the file and the helper to use instead.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const TEST = join(import.meta.dir, "..");

const RULES: Array<{ pattern: RegExp; use: string; home: string }> = [
  { pattern: /\bfunction\s+(waitFor|waitUntil|until|poll|waitStored|metricsWhen)\b/, use: "until/settled from test/helpers/until.ts", home: "helpers/until.ts" },
  { pattern: /\bmkdtemp(Sync)?\(/, use: "tempDir from test/helpers/temp.ts", home: "helpers/temp.ts" },
  { pattern: /getSingleMetric\(|\/metrics`\)\)\.text\(\)/, use: "readMetric/registryMetric/counterValue from test/helpers/metrics.ts", home: "helpers/metrics.ts" },
];

function testFiles(): string[] {
  return (readdirSync(TEST, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => join(TEST, f));
}

test("no test file re-implements a shared helper of test/helpers/", () => {
  const offences: string[] = [];
  for (const file of testFiles()) {
    const name = relative(TEST, file);
    if (name === "helpers/one-set.test.ts") continue;
    const text = readFileSync(file, "utf8");
    for (const rule of RULES) {
      if (name !== rule.home && rule.pattern.test(text)) offences.push(`${name}: use ${rule.use}`);
    }
  }
  expect(offences).toEqual([]);
});
