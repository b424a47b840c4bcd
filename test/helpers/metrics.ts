// Reading Prometheus text from a running process's /metrics.
//   readMetric(url, name, labels): the sum of the samples of `name` whose
//   labels include `labels` (all samples when none are given); throws when
//   no sample matches, so a renamed metric or label fails loudly.

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of a Prometheus text exposition. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the matching samples in `text`; throws when none match. */
export function metricIn(text: string, name: string, labels: Labels = {}): number {
  const matching = parseMetrics(text).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matching.length === 0) throw new Error(`no metric ${name}${JSON.stringify(labels)} exposed`);
  return matching.reduce((sum, s) => sum + s.value, 0);
}

/** `url` is the process's base URL (http://127.0.0.1:PORT). */
export async function readMetric(url: string, name: string, labels: Labels = {}): Promise<number> {
  const res = await fetch(`${url.replace(/\/$/, "")}/metrics`);
  if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}`);
  return metricIn(await res.text(), name, labels);
}
