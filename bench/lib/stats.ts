// Repeats a measurement and summarises it: the median with the spread
// (min..max), which is what the bench reports and compares to thresholds.
export interface Figure {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number[];
  /** "higher" when bigger is better (throughput), "lower" for latency/memory. */
  better: "higher" | "lower";
  params?: Record<string, unknown>;
  /** A goal printed beside the figure (e.g. an issue's target) when it is not yet a threshold. */
  target?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function repeat(
  name: string,
  unit: string,
  better: Figure["better"],
  times: number,
  measure: () => Promise<number> | number,
  params?: Record<string, unknown>,
): Promise<Figure> {
  const runs: number[] = [];
  for (let i = 0; i < times; i++) runs.push(await measure());
  return summarize(name, unit, better, runs, params);
}

export function summarize(name: string, unit: string, better: Figure["better"], runs: number[], params?: Record<string, unknown>): Figure {
  return { name, unit, better, median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs, params };
}

/** What one run of a multi-figure measurement gives: figure name → value. */
export type Sample = Record<string, number>;
export type FigureSpec = { unit: string; better: Figure["better"] };

/** Repeats a measurement that yields several figures at once (e.g. rate, CPU and memory of one run). */
export async function repeatMany(
  times: number,
  specs: Record<string, FigureSpec>,
  measure: (run: number) => Promise<Sample>,
  params?: Record<string, unknown>,
): Promise<Figure[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < times; i++) samples.push(await measure(i));
  return Object.entries(specs).map(([name, s]) => summarize(name, s.unit, s.better, samples.map((x) => x[name]!), params));
}
