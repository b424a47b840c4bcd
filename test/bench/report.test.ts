// bench/lib/report.ts: the table shows a target column only when a figure
// has a target, and thresholds compare medians in the figure's direction.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkThresholds, table } from "../../bench/lib/report.ts";
import { type Figure, summarize } from "../../bench/lib/stats.ts";
import { tempDir } from "../helpers/temp.ts";

const rate = summarize("vs_go.frame_10.ratio", "× Go", "higher", [0.4, 0.5, 0.6]);
const rss = summarize("vs_go.agent_idle_rss", "MiB", "lower", [50, 55, 60]);
const { dir, cleanup } = tempDir("bench-report-test-");
afterAll(cleanup);

describe("table", () => {
  test("has no target column when no figure has a target", () => {
    expect(table([rate, rss]).split("\n")[0]).not.toContain("target");
  });

  test("prints a figure's target beside its median", () => {
    const withTarget: Figure = { ...rate, target: "≥ 1.0 (issue #10)" };
    const lines = table([withTarget, rss]).split("\n");
    expect(lines[0]).toContain("| target");
    expect(lines.find((l) => l.includes("vs_go.frame_10.ratio"))).toMatch(/0\.50 × Go .*\| ≥ 1\.0 \(issue #10\) \|$/);
    expect(lines.find((l) => l.includes("vs_go.agent_idle_rss"))).toMatch(/\|\s+\|$/);
  });
});

describe("checkThresholds", () => {
  test("a higher-is-better figure fails below its threshold, a lower-is-better one above", () => {
    const file = join(dir, "thresholds.json");
    writeFileSync(file, JSON.stringify({ "vs_go.frame_10.ratio": 0.6, "vs_go.agent_idle_rss": 50 }));
    expect(checkThresholds([rate, rss], file).map((c) => [c.name, c.ok])).toEqual([
      ["vs_go.frame_10.ratio", false],
      ["vs_go.agent_idle_rss", false],
    ]);
    writeFileSync(file, JSON.stringify({ "vs_go.frame_10.ratio": 0.5, "vs_go.agent_idle_rss": 55 }));
    expect(checkThresholds([rate, rss], file).every((c) => c.ok)).toBe(true);
  });
});
