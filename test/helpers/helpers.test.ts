import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Counter, Registry } from "prom-client";
import { counterValue, metricIn, parseSeries, registryMetric } from "./metrics.ts";
import { tempDir } from "./temp.ts";
import { settled, until } from "./until.ts";
import { pidMax, pidsAfter, pidWithin } from "./pids.ts";

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

test("an absent series is 0 only when the caller says so; registries and counters read by the same rule", async () => {
  expect(metricIn(TEXT, "x_total", { code: "internal" }, { absentIsZero: true })).toBe(0);
  const registry = new Registry();
  const c = new Counter({ name: "y_total", help: "y", labelNames: ["reason"], registers: [registry] });
  await expect(counterValue(c, { reason: "full" })).rejects.toThrow("no metric y_total");
  expect(await counterValue(c, { reason: "full" }, { absentIsZero: true })).toBe(0);
  c.inc({ reason: "full" }, 2);
  c.inc({ reason: "other" });
  expect(await counterValue(c, { reason: "full" })).toBe(2);
  expect(await counterValue(c)).toBe(3);
  expect(await registryMetric(registry, "y_total", { reason: "other" })).toBe(1);
  await expect(registryMetric(registry, "renamed_total")).rejects.toThrow("no metric renamed_total");
  expect(parseSeries('a_total{code="x",role="y"}')).toEqual({ name: "a_total", labels: { code: "x", role: "y" } });
});

test("settled returns the value once done, or the last value read at the deadline", async () => {
  let n = 0;
  expect(await settled(() => ++n, (v) => v >= 3)).toBe(3);
  const last = await settled(() => 7, (v) => v > 10, { timeoutMs: 30 });
  expect(last).toBe(7);
});

test("pidWithin follows the kernel's order of pids across the wrap at pid_max", () => {
  const max = 32768;
  expect(pidsAfter(100, 100, max)).toBe(0);
  expect(pidsAfter(32700, 32767, max)).toBe(67);
  expect(pidsAfter(32700, 300, max)).toBe(68); // the first pid after the wrap
  expect(pidWithin(400, 32000, 500, max)).toBe(true);
  expect(pidWithin(32500, 32000, 500, max)).toBe(true);
  expect(pidWithin(31999, 32000, 500, max)).toBe(false);
  expect(pidWithin(501, 32000, 500, max)).toBe(false);
  expect(pidWithin(1500, 1000, 2000, max)).toBe(true);
  expect(pidWithin(2001, 1000, 2000, max)).toBe(false);
  expect(pidMax()).toBeGreaterThan(300);
});
