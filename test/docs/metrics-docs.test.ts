// The README's generated metrics reference: lists every metric of both
// roles with its labels, and the committed README.md is not stale.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createAgentMetrics } from "../../src/agent/metrics.ts";
import { createCoderdMetrics } from "../../src/coderd/metrics.ts";
import { BEGIN, END, README_PATH, renderMetricsSection, spliceSection } from "../../scripts/gen-metrics-docs.ts";

describe("README.md metrics reference", () => {
  test("has a row for every agent_boundary_log_proxy_ and coderd_boundary_ metric, naming its labels", async () => {
    const section = await renderMetricsSection();
    const registries = [createAgentMetrics().registry, createCoderdMetrics().registry];
    let rows = 0;
    for (const registry of registries) {
      for (const metric of registry.getMetricsAsArray()) {
        const name = (metric as unknown as { name: string }).name;
        if (!name.startsWith("agent_boundary_log_proxy_") && !name.startsWith("coderd_boundary_")) continue;
        const row = section.split("\n").find((l) => l.startsWith(`| \`${name}\` |`));
        expect(row, name).toBeDefined();
        for (const label of (metric as unknown as { labelNames: string[] }).labelNames) expect(row!).toContain(`\`${label}\`:`);
        rows++;
      }
    }
    expect(rows).toBeGreaterThanOrEqual(20);
  });

  test("splices only between the markers", () => {
    const readme = `before\n${BEGIN}\nold\n${END}\nafter\n`;
    expect(spliceSection(readme, `${BEGIN}\nnew\n${END}`)).toBe(`before\n${BEGIN}\nnew\n${END}\nafter\n`);
    expect(() => spliceSection("no markers", "x")).toThrow("no");
  });

  test("the committed README.md is up to date (regenerate: npx bun scripts/gen-metrics-docs.ts)", async () => {
    const current = readFileSync(README_PATH, "utf8");
    expect(current).toBe(spliceSection(current, await renderMetricsSection()));
  });
});
