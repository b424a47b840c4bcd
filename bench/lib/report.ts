// Prints the bench table, writes bench/results.json, and compares each
// figure with bench/thresholds.json (a regression makes the run fail).
import { cpus, totalmem } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Figure } from "./stats.ts";

export function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpu: cpu[0]?.model ?? "unknown",
    memory_gib: Math.round(totalmem() / 2 ** 30),
    runtime: `bun ${Bun.version}`,
    platform: `${process.platform}/${process.arch}`,
  };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);
}

/** The figures as a Markdown table; a "target" column when any figure has one. */
export function table(figures: Figure[]): string {
  const targets = figures.some((f) => f.target !== undefined);
  const rows = figures.map((f) => [f.name, `${fmt(f.median)} ${f.unit}`, `${fmt(f.min)} … ${fmt(f.max)}`, String(f.runs.length), ...(targets ? [f.target ?? ""] : [])]);
  const head = ["figure", "median", "spread (min … max)", "runs", ...(targets ? ["target"] : [])];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export interface ThresholdResult {
  name: string;
  median: number;
  threshold: number;
  ok: boolean;
}

export function checkThresholds(figures: Figure[], file: string): ThresholdResult[] {
  if (!existsSync(file)) return [];
  const limits = JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  return figures
    .filter((f) => f.name in limits)
    .map((f) => {
      const threshold = limits[f.name]!;
      const ok = f.better === "higher" ? f.median >= threshold : f.median <= threshold;
      return { name: f.name, median: f.median, threshold, ok };
    });
}

export function writeResults(dir: string, figures: Figure[], extra: Record<string, unknown>): string {
  const path = join(dir, "results.json");
  writeFileSync(path, `${JSON.stringify({ machine: machine(), when: new Date().toISOString(), ...extra, figures }, null, 2)}\n`);
  return path;
}
