// Fails (exit 1) when modules under a folder import each other in a cycle,
// listing each cycle as `a.ts → b.ts → a.ts`. Counts static imports,
// re-exports, `import type` and dynamic `import("…")` of relative paths:
// a cycle of types is still a cycle of design (shared/STYLE.md 3.4).
//
//   bun scripts/check-import-cycles.ts [DIR]     (default: src)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|(?:^|[\s;(])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Relative imports of `file`, resolved to paths. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec?.startsWith(".")) out.push(resolve(dirname(file), spec));
  }
  return out;
}

/** Every elementary cycle found by depth-first search, each listed once. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, "active" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "active");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "active") {
        const cycle = stack.slice(stack.indexOf(next));
        const key = [...cycle].sort().join("|");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...cycle, next]);
        }
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

export function importGraph(dir: string): Map<string, string[]> {
  const files = sourceFiles(resolve(dir));
  return new Map(files.map((f) => [f, importsOf(f, readFileSync(f, "utf8"))]));
}

if (import.meta.main) {
  const dir = process.argv[2] ?? "src";
  const graph = importGraph(dir);
  const cycles = findCycles(graph);
  const show = (p: string) => relative(process.cwd(), p);
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map(show).join(" → ")}`);
  console.log(`${graph.size} modules under ${dir}: ${cycles.length} import cycle(s)`);
  process.exit(cycles.length === 0 ? 0 : 1);
}
