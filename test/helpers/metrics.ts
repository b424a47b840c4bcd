// Reading Prometheus metrics, from a running process's /metrics, from
// exposition text, from an in-process prom-client registry or metric. One
// rule for all: the value is the sum of the samples of `name` whose labels
// include `labels` (all samples when none are given), and no matching
// sample throws, so a renamed metric or label fails loudly; a caller for
// whom an absent series honestly means 0 says so with { absentIsZero: true }.
//   readMetric(url, name, labels)      scrape a process, then read
//   scrapeMetrics(url) + valueOf(...)  one scrape, several reads
//   metricIn(text, ...), registryMetric(registry, ...), counterValue(metric, ...)

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export interface ReadOptions {
  /** An absent series counts as 0 (e.g. a labelled counter prom-client shows only once incremented). Default: absent throws. */
  absentIsZero?: boolean;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseLabels(text: string): Labels {
  const labels: Labels = {};
  for (const l of text.matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  return labels;
}

/** Every sample of a Prometheus text exposition. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    out.push({ name: m[1]!, labels: parseLabels(m[2] ?? ""), value: Number(m[3]) });
  }
  return out;
}

/** A series written as Prometheus prints it, `name{label="v",…}`, as name and labels. */
export function parseSeries(series: string): { name: string; labels: Labels } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(series);
  if (!m) throw new Error(`not a series: ${series}`);
  return { name: m[1]!, labels: parseLabels(m[2] ?? "") };
}

/** The sum of the matching samples; throws when none match unless `absentIsZero`. */
export function valueOf(samples: Sample[], name: string, labels: Labels = {}, opts: ReadOptions = {}): number {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matching.length === 0) {
    if (opts.absentIsZero) return 0;
    throw new Error(`no metric ${name}${JSON.stringify(labels)} exposed`);
  }
  return matching.reduce((sum, s) => sum + s.value, 0);
}

/** valueOf over exposition text. */
export function metricIn(text: string, name: string, labels: Labels = {}, opts: ReadOptions = {}): number {
  return valueOf(parseMetrics(text), name, labels, opts);
}

/** One scrape of `url`/metrics (`url` is the process's base URL, http://127.0.0.1:PORT). */
export async function scrapeMetrics(url: string): Promise<Sample[]> {
  const res = await fetch(`${url.replace(/\/$/, "")}/metrics`);
  if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** Scrapes `url`, then valueOf. */
export async function readMetric(url: string, name: string, labels: Labels = {}, opts: ReadOptions = {}): Promise<number> {
  return valueOf(await scrapeMetrics(url), name, labels, opts);
}

/** valueOf over what an in-process prom-client registry would expose. */
export async function registryMetric(registry: { metrics(): Promise<string> }, name: string, labels: Labels = {}, opts: ReadOptions = {}): Promise<number> {
  return metricIn(await registry.metrics(), name, labels, opts);
}

/** A prom-client metric's value (labels a subset, as valueOf). */
export async function counterValue(
  metric: { get(): Promise<{ name: string; values: Array<{ value: number; labels: Record<string, unknown>; metricName?: string }> }> },
  labels: Labels = {},
  opts: ReadOptions = {},
): Promise<number> {
  const { name, values } = await metric.get();
  const samples = values.map((v) => ({ name: v.metricName ?? name, labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])), value: v.value }));
  return valueOf(samples, name, labels, opts);
}
