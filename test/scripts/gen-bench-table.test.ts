// scripts/gen-bench-table.ts: the README's performance table from bench
// results: medians with their spread, the targets and whether they
// are met, figures a run lacked named as such, the machine and its load.
import { describe, expect, test } from "bun:test";
import type { Figure } from "../../bench/lib/stats.ts";
import { benchTable } from "../../scripts/gen-bench-table.ts";

const fig = (name: string, median: number, unit = "records/s"): Figure => ({ name, unit, median, min: median * 0.9, max: median * 1.1, runs: [median], better: "higher" });
const machine = { cores: 2, cpu: "AMD EPYC", memory_gib: 24, runtime: "bun 1.4.5", platform: "linux/x64" };

describe("gen-bench-table", () => {
  test("rows say measured, target and met; later files win; missing figures are named; machine and load are printed", () => {
    const first = { machine, when: "2026-12-04T05:00:00.000Z", repeats: 3, quick: false, load_average: { start: [5.5, 1, 1], end: [6.25, 1, 1] }, figures: [fig("e2e.sessions_1", 10_000), fig("vs_go.frame_10.ratio", 1.2, "× Go")] };
    const second = { machine, when: "2026-12-04T06:00:00.000Z", repeats: 3, quick: false, figures: [
      fig("e2e.sessions_1", 160_000), fig("e2e.latency_p99", 120, "ms"),
      fig("e2e.sessions_1.agent_peak_rss", 70, "MiB"), fig("e2e.sessions_100.agent_peak_rss", 95, "MiB"),
    ] };
    const table = benchTable([first, second]);
    const row = (what: string) => table.split("\n").find((l) => l.startsWith(`| ${what} |`))!;
    expect(row("end to end, 1 session")).toBe("| end to end, 1 session | 160,000 records/s (144,000 … 176,000) | ≥ 150,000/s | yes |");
    expect(row("socket decode, 10-record frames, agent ÷ Go")).toContain("| ≥ 1.0× | yes |");
    expect(row("socket → committed and emitted at 10,000/s, p99")).toContain("| ≤ 100 ms | no |");
    expect(row("agent RSS peak, every scenario")).toContain("95.0 MiB (85.5 … 105) (e2e.sessions_100.agent_peak_rss) | ≤ 90 MiB | no |");
    expect(row("coderd ingest alone (lines to a file)")).toBe("| coderd ingest alone (lines to a file) | not measured in these runs | ≥ 250,000/s | – |");
    expect(table).toContain("Machine: 2 cores (AMD EPYC), 24 GiB, linux/x64, bun 1.4.5");
    expect(table).toContain("2026-12-04 05:00 UTC (load average 5.5 → 6.3)");
    expect(table).toContain("npm run build && npm run bench && npx bun scripts/gen-bench-table.ts");
  });
});
