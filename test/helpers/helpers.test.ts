import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { metricIn } from "./metrics.ts";
import { tempDir } from "./temp.ts";
import { until } from "./until.ts";

const TEXT = `# HELP x_total a counter
# TYPE x_total counter
x_total{code="unavailable",role="a"} 2
x_total{code="unknown"} 3
plain 7
`;

test("metricIn sums the samples whose labels include the given ones and throws on none", () => {
  expect(metricIn(TEXT, "x_total")).toBe(5);
  expect(metricIn(TEXT, "x_total", { code: "unavailable" })).toBe(2);
  expect(metricIn(TEXT, "plain")).toBe(7);
  expect(() => metricIn(TEXT, "x_total", { code: "internal" })).toThrow("no metric x_total");
  expect(() => metricIn(TEXT, "renamed_total")).toThrow("no metric");
});

test("until returns the first truthy value, and names what it waited for on timeout", async () => {
  let n = 0;
  expect(await until(() => (++n >= 3 ? n : 0))).toBe(3);
  await expect(until(() => false, { timeoutMs: 30, what: "the moon" })).rejects.toThrow("waiting for the moon");
});

test("tempDir makes a fresh directory and cleanup removes it", () => {
  const a = tempDir("helpers-");
  const b = tempDir("helpers-");
  expect(a.dir).not.toBe(b.dir);
  expect(existsSync(a.dir)).toBe(true);
  a.cleanup();
  b.cleanup();
  expect(existsSync(a.dir)).toBe(false);
});
