// A fleet on PostgreSQL for the e2e tests: compiled coderd replicas on one
// database of the test run's cluster (test/helpers/postgres.ts), agents
// with their own tokens, a feeder that writes numbered records straight
// into an agent's socket, and the store and stderr read back to count
// every (session, sequence) stored and printed.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { connectUnix, emittedCounts, keyOf, logsFrames, type Proc, startBinaryChild, writeBytes } from "./harness.ts";
import { until } from "../helpers/until.ts";
import type { Child } from "../helpers/cli.ts";

export const ADMIN = "pg-e2e-admin-token-0123456789";
export const agentToken = (i: number) => `pg-e2e-agent-token-${i}-0123456789`;

/** An agents file with `n` agents, each in its own workspace. */
export function writeFleetAgents(dir: string, n: number): string {
  const file = join(dir, "agents.yaml");
  const rows = Array.from({ length: n }, (_, i) =>
    `  - token: "${agentToken(i)}"\n    workspace_id: 0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e${String(i).padStart(2, "0")}\n    workspace_name: ws-${i}\n    owner_name: owner-${i}\n`,
  );
  writeFileSync(file, `agents:\n${rows.join("")}`);
  return file;
}

async function started(child: Child, what: string, pattern: RegExp): Promise<number> {
  await until(() => pattern.test(child.stderr()) || child.proc.exitCode !== null, { what: `${what} to start`, timeoutMs: 60_000 });
  const port = Number(pattern.exec(child.stderr())?.[1]);
  if (!port) throw new Error(`${what} did not start (exit ${child.proc.exitCode}):\n${child.stderr()}`);
  return port;
}

const asProc = (child: Child, port: number): Proc => ({
  child, port, stop: async (signal = "SIGTERM") => (child.kill(signal), child.exited),
});

/** `boundary-relay coderd --db <url>` on 127.0.0.1:`port` (0 = any). */
export async function startPgCoderd(db: string, agentsFile: string, port = 0, extra: string[] = []): Promise<Proc> {
  const child = startBinaryChild([
    "coderd", "--db", db, "--agents-file", agentsFile, "--admin-token", ADMIN, "--http-listen", `127.0.0.1:${port}`, ...extra,
  ]);
  return asProc(child, await started(child, "coderd", /listening on https?:\/\/127\.0\.0\.1:(\d+)/));
}

/** An agent with token `i`, forwarding to `coderdUrls` (comma-separated when several). */
export async function startFleetAgent(dir: string, i: number, coderdUrls: string, extra: string[] = []): Promise<Proc & { socket: string }> {
  const socket = join(dir, `agent-${i}.sock`);
  const spool = join(dir, `spool-${i}`);
  const child = startBinaryChild(
    ["agent", "--socket", socket, "--spool-dir", spool, "--http-listen", "127.0.0.1:0", "--output", "coderd",
      "--coderd-url", coderdUrls, "--agent-token", agentToken(i), ...extra],
    { HOME: spool, TMPDIR: dir },
  );
  return { ...asProc(child, await started(child, `agent ${i}`, /http http:\/\/127\.0\.0\.1:(\d+)/)), socket };
}

/**
 * Writes `total` records of session `sessionId` (sequence 0..total-1) into
 * `socket`, `perFrame` per frame, `framesPerWrite` frames per write, pausing
 * `pauseMs` between writes; `onProgress` sees the records written so far.
 */
export async function feed(socket: string, sessionId: string, total: number, opts: { perFrame?: number; framesPerWrite?: number; pauseMs?: number; onProgress?: (n: number) => void | Promise<void> } = {}): Promise<void> {
  const perFrame = opts.perFrame ?? 10;
  const framesPerWrite = opts.framesPerWrite ?? 20;
  const conn = await connectUnix(socket);
  try {
    for (let seq = 0; seq < total;) {
      const frames = Math.min(framesPerWrite, Math.ceil((total - seq) / perFrame));
      const n = Math.min(frames * perFrame, total - seq);
      const full = Math.floor(n / perFrame);
      if (full > 0) await writeBytes(conn, logsFrames(sessionId, seq, full, perFrame));
      if (n % perFrame) await writeBytes(conn, logsFrames(sessionId, seq + full * perFrame, 1, n % perFrame));
      seq += n;
      await opts.onProgress?.(seq);
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  } finally {
    conn.end();
  }
}

/** Runs `use` on a one-connection client of `db`, closed afterwards. */
async function withPg<T>(db: string, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(db, { max: 1, onnotice: () => {} });
  try {
    return await use(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** (session_id/sequence_number) → rows stored, read from PostgreSQL. */
export function pgStoredCounts(db: string): Promise<Map<string, number>> {
  return withPg(db, async (sql) => {
    try {
      const rows = await sql<{ session_id: string; sequence_number: number; n: string }[]>`
        SELECT s.session_id, l.sequence_number, count(*) AS n
        FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref GROUP BY 1, 2`;
      return new Map(rows.map((r) => [keyOf(r.session_id, r.sequence_number), Number(r.n)]));
    } catch (err) {
      if ((err as { code?: string }).code === "42P01") return new Map(); // no schema yet
      throw err;
    }
  });
}

/** Each stored record's key and its row id. */
function pgStoredIds(db: string): Promise<Map<string, number>> {
  return withPg(db, async (sql) => {
    const rows = await sql<{ session_id: string; sequence_number: number; id: string }[]>`
      SELECT s.session_id, l.sequence_number, l.id FROM boundary_logs l JOIN boundary_sessions s ON s.id = l.session_ref`;
    return new Map(rows.map((r) => [keyOf(r.session_id, r.sequence_number), Number(r.id)]));
  });
}

/** Sorted ids as ranges: "1-5, 9, 12-13". */
function idRanges(ids: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return out.slice(0, 20).join(", ") + (out.length > 20 ? ` … (${out.length} ranges)` : "");
}

/** Rows in boundary_logs. */
export function pgStoredRows(db: string): Promise<number> {
  return withPg(db, async (sql) => Number((await sql`SELECT count(*) AS n FROM boundary_logs`)[0]!.n)).catch(() => 0);
}

/**
 * Why lines are missing, for a test that timed out waiting for them: each
 * coderd life's line count and last messages besides its lines, its line
 * metrics when it still answers; across all lives, which stored records
 * have no line and which have several (and who printed those); and the
 * stderr consumer's queue in the database (entries left, and who holds
 * them until when).
 */
export async function explainMissingLines(db: string, lives: Proc[]): Promise<string> {
  const emitted = lives.map((p) => emittedCounts(p.child.stderr()));
  const out: string[] = [];
  for (const [i, p] of lives.entries()) out.push(await describeLife(p, i, emitted[i]!.size));
  out.push(...(await lineCoverage(db, emitted)));
  out.push(await withPg(db, async (sql) => {
    const rows = await sql`
      SELECT consumer, claimed_by, count(*)::int AS entries, sum(cardinality(log_ids))::int AS records,
        min(log_ids[1])::text AS first, max(claimed_until)::text AS until, now()::text AS now
      FROM consumer_batches GROUP BY consumer, claimed_by`;
    return `queue: ${rows.length === 0 ? "empty" : JSON.stringify(rows)}`;
  }).catch((err) => `queue: unreadable (${err})`));
  return out.join("\n");
}

/** One coderd life: its line count, line metrics (while it answers) and last messages besides its lines. */
async function describeLife(p: Proc, i: number, lines: number): Promise<string> {
  const other = p.child.stderr().split("\n").filter((l) => l !== "" && !l.includes(" boundary_request "));
  const metrics = p.child.proc.exitCode === null && p.child.proc.signalCode === null
    ? await fetch(`http://127.0.0.1:${p.port}/metrics`).then((r) => r.text()).catch((err) => `(no /metrics: ${err})`)
    : "(exited)";
  const lineMetrics = metrics.split("\n").filter((l) => /^coderd_boundary_line/.test(l));
  return `coderd life ${i} (exit ${p.child.proc.exitCode ?? p.child.proc.signalCode}): ${lines} lines; ` +
    `${lineMetrics.join("; ") || metrics.slice(0, 200)}; last messages:\n  ${other.slice(-8).join("\n  ")}`;
}

/** Across all lives' lines (`emitted`, one map per life): stored records with no line, and those with several and who printed them. */
async function lineCoverage(db: string, emitted: Map<string, number>[]): Promise<string[]> {
  const all = new Map<string, number>();
  for (const counts of emitted) for (const [key, n] of counts) all.set(key, (all.get(key) ?? 0) + n);
  const stored = await pgStoredIds(db);
  const missing = [...stored].filter(([key]) => !all.has(key)).map(([, id]) => id).sort((x, y) => x - y);
  const repeatedKeys = [...all].filter(([, n]) => n > 1).map(([key]) => key);
  const out = [`all lives: ${all.size} records with a line, ${repeatedKeys.length} printed more than once; ${missing.length} stored records without one` +
    (missing.length > 0 ? `, ids ${idRanges(missing)}` : "")];
  const keyOfId = new Map([...stored].map(([key, id]) => [id, key]));
  if (missing.length > 0) out.push(`  missing, first: ${missing.slice(0, 3).map((id) => keyOfId.get(id)).join(" ")}`);
  if (repeatedKeys.length > 0) {
    out.push(`  repeated, ids ${idRanges(repeatedKeys.map((key) => stored.get(key)!).sort((x, y) => x - y))}; ` +
      emitted.map((counts, i) => `life ${i} printed ${repeatedKeys.filter((key) => counts.has(key)).length} of them`).join(", "));
  }
  return out;
}
