// `npx bun scripts/gen-bench-table.ts [RESULTS.json ...]`: writes the
// performance table of issue #10 into README.md, between the markers
// <!-- bench-table:start --> and <!-- bench-table:end -->, from what
// `npm run bench` wrote (bench/results.json by default). Several files
// merge, later ones winning per figure, so groups run apart (e.g.
// `--only e2e`, then `--only socket-vs-go`) make one table. Each row shows
// the median with its spread, the issue's target and whether it is met;
// figures a run did not produce say so. The machine, the load average the
// runs saw and the command to reproduce go under the table.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Figure } from "../bench/lib/stats.ts";

const ROOT = join(import.meta.dir, "..");
const START = "<!-- bench-table:start -->";
const END = "<!-- bench-table:end -->";

interface Results {
  machine: { cores: number; cpu: string; memory_gib: number; runtime: string; platform: string };
  when: string;
  repeats: number;
  quick: boolean;
  load_average?: { start: number[]; end: number[] };
  figures: Figure[];
}

interface Row {
  what: string;
  /** Figure names; "max:" before a prefix takes the highest median of the figures starting with it. */
  figure: string;
  target?: { op: ">=" | "<="; value: number; text: string };
  /** Another figure shown beside this one (e.g. Go's rate). */
  beside?: { label: string; figure: string };
}

const ROWS: Row[] = [
  { what: "socket decode, 10-record frames, agent ÷ Go", figure: "vs_go.frame_10.ratio", target: { op: ">=", value: 1.0, text: "≥ 1.0×" }, beside: { label: "agent / Go records/s", figure: "vs_go.frame_10.agent|vs_go.frame_10.go" } },
  { what: "socket decode, 100-record frames, agent ÷ Go", figure: "vs_go.frame_100.ratio", target: { op: ">=", value: 0.8, text: "≥ 0.8×" }, beside: { label: "agent / Go records/s", figure: "vs_go.frame_100.agent|vs_go.frame_100.go" } },
  { what: "coderd ingest alone (lines to a file)", figure: "coderd.emit_file", target: { op: ">=", value: 250_000, text: "≥ 250,000/s" }, beside: { label: "coderd CPU", figure: "coderd.emit_file.coderd_cpu" } },
  { what: "end to end, 1 session", figure: "e2e.sessions_1", target: { op: ">=", value: 150_000, text: "≥ 150,000/s" }, beside: { label: "coderd CPU", figure: "e2e.sessions_1.coderd_cpu" } },
  { what: "end to end, 100 sessions", figure: "e2e.sessions_100", target: { op: ">=", value: 150_000, text: "≥ 150,000/s" }, beside: { label: "coderd CPU", figure: "e2e.sessions_100.coderd_cpu" } },
  { what: "end to end, 1000 sessions", figure: "e2e.sessions_1000", target: { op: ">=", value: 100_000, text: "≥ 100,000/s" }, beside: { label: "coderd CPU", figure: "e2e.sessions_1000.coderd_cpu" } },
  { what: "socket → committed and emitted at 10,000/s, p99", figure: "e2e.latency_p99", target: { op: "<=", value: 100, text: "≤ 100 ms" }, beside: { label: "p50", figure: "e2e.latency_p50" } },
  { what: "agent RSS idle", figure: "vs_go.agent_idle_rss", target: { op: "<=", value: 50, text: "≤ 50 MiB" }, beside: { label: "Go receiver idle", figure: "vs_go.go_idle_rss" } },
  { what: "agent RSS peak, every scenario", figure: "max:agent_peak_rss", target: { op: "<=", value: 90, text: "≤ 90 MiB" } },
];

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);
}

/** Figures by name, later files winning; each remembers the run it came from. */
function merge(files: Results[]): Map<string, { figure: Figure; run: Results }> {
  const out = new Map<string, { figure: Figure; run: Results }>();
  for (const run of files) for (const figure of run.figures) out.set(figure.name, { figure, run });
  return out;
}

function pick(all: ReturnType<typeof merge>, name: string): Figure | undefined {
  if (!name.startsWith("max:")) return all.get(name)?.figure;
  const suffix = name.slice(4);
  const matching = [...all.values()].map((e) => e.figure).filter((f) => f.name.endsWith(suffix));
  return matching.sort((a, b) => b.median - a.median)[0];
}

const cell = (f: Figure) => `${fmt(f.median)} ${f.unit} (${fmt(f.min)} … ${fmt(f.max)})`;

function rowOf(all: ReturnType<typeof merge>, row: Row): string {
  const f = pick(all, row.figure);
  if (!f) return `| ${row.what} | not measured in these runs | ${row.target?.text ?? ""} | – |`;
  const met = row.target ? ((row.target.op === ">=" ? f.median >= row.target.value : f.median <= row.target.value) ? "yes" : "no") : "–";
  const besides = row.beside
    ? row.beside.figure.split("|").map((n) => pick(all, n)).filter((b): b is Figure => b !== undefined).map((b) => `${fmt(b.median)} ${b.unit}`).join(" / ")
    : "";
  const detail = besides ? `; ${row.beside!.label}: ${besides}` : "";
  const from = row.figure.startsWith("max:") ? ` (${f.name})` : "";
  return `| ${row.what} | ${cell(f)}${from}${detail} | ${row.target?.text ?? ""} | ${met} |`;
}

function footnote(files: Results[]): string {
  const m = files[0]!.machine;
  const loads = files
    .map((r) => `${r.when.slice(0, 16).replace("T", " ")} UTC${r.load_average ? ` (load average ${r.load_average.start[0]!.toFixed(1)} → ${r.load_average.end[0]!.toFixed(1)})` : ""}`)
    .join("; ");
  return [
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memory_gib} GiB, ${m.platform}, ${m.runtime}; agent, coderd and the load generators share the cores.`,
    `Runs: ${loads}; ${files[0]!.repeats} repeats each, median (min … max).`,
    "Reproduce: `npm run build && npm run bench && npx bun scripts/gen-bench-table.ts` (several `bench/results.json` copies may be passed, later ones winning per figure).",
  ].join("\n");
}

export function benchTable(files: Results[]): string {
  const all = merge(files);
  const lines = [
    "| what | measured | target (issue #10) | met |",
    "|---|---|---|---|",
    ...ROWS.map((r) => rowOf(all, r)),
    "",
    footnote(files),
  ];
  return lines.join("\n");
}

function main(): void {
  const paths = process.argv.slice(2);
  const files = (paths.length ? paths : [join(ROOT, "bench", "results.json")]).map((p) => {
    if (!existsSync(p)) throw new Error(`${p} not found: run \`npm run bench\` first`);
    return JSON.parse(readFileSync(p, "utf8")) as Results;
  });
  const readmePath = join(ROOT, "README.md");
  const readme = readFileSync(readmePath, "utf8");
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${START} … ${END} markers`);
  writeFileSync(readmePath, `${readme.slice(0, from + START.length)}\n${benchTable(files)}\n${readme.slice(to)}`);
  console.log(`wrote the performance table into ${readmePath} from ${files.length} result file(s)`);
}

if (import.meta.main) main();
