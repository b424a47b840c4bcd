// Which part of a time window the hourly rollup (migration 5) can answer
// exactly, and which partial hours must be read from the records. An hour
// counts whole when it lies inside [since, until) and, for a chart, inside
// one bucket; every other instant of the window goes to a raw interval (at
// most a few hours: the window's ragged ends and, when buckets do not start
// on the hour, the hour around each bucket boundary). Adding the rollup's
// whole hours to the raw intervals' records gives the same counts as
// reading every record. Pure arithmetic: sqlite-rollup.ts turns a plan
// into SQL.
import type { LogFilter } from "./store.ts";

export const HOUR_MS = 3_600_000;

/** More raw intervals than this and one scan of the whole window is cheaper. */
export const MAX_RAW_INTERVALS = 48;

/** [from, to) in ms since the epoch, on captured_at. */
export interface Interval {
  from: number;
  to: number;
}

export interface RollupPlan {
  /** Rollup hours h with from ≤ h and h + 1 hour ≤ to (either bound may be open); null when no hour is whole. */
  hours: { from?: number; to?: number } | null;
  /**
   * Set when chart buckets (starting at `origin`, `ms` long) do not start
   * on the hour: rollup hours that straddle a bucket boundary are left out
   * (they are in `raw`).
   */
  straddling?: { origin: number; ms: number };
  /** Partial hours, read from the records, ascending and disjoint. */
  raw: Interval[];
}

export const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
export const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;

/** True when the rollup carries every filter of `q`: captured time, host/domain, decision and the workspace identity. */
export function rollupCarries(q: LogFilter): boolean {
  return q.timeField !== "event" && q.urlContains === undefined;
}

/** The plan for a window on captured_at (stats, top lists); either bound may be open. */
export function planWindow(since: number | undefined, until: number | undefined): RollupPlan {
  const from = since === undefined ? undefined : ceilHour(since);
  const to = until === undefined ? undefined : floorHour(until);
  if (from !== undefined && to !== undefined && from >= to) {
    return { hours: null, raw: since! < until! ? [{ from: since!, to: until! }] : [] };
  }
  const raw: Interval[] = [];
  if (since !== undefined && since < from!) raw.push({ from: since, to: from! });
  if (until !== undefined && to! < until) raw.push({ from: to!, to: until });
  return { hours: { from, to }, raw };
}

/**
 * The plan for a chart of buckets `bucketMs` long from `since` to `until`;
 * null when the rollup cannot help (buckets not a whole number of hours, or
 * more partial hours than MAX_RAW_INTERVALS).
 */
export function planBuckets(since: number, until: number, bucketMs: number): RollupPlan | null {
  if (bucketMs % HOUR_MS !== 0) return null;
  const plan = planWindow(since, until);
  if (since % HOUR_MS === 0 || plan.hours === null) return plan;
  const raw = [...plan.raw];
  for (let cut = since + bucketMs; cut < until; cut += bucketMs) {
    raw.push({ from: Math.max(since, floorHour(cut)), to: Math.min(until, floorHour(cut) + HOUR_MS) });
    if (raw.length > MAX_RAW_INTERVALS + 2) return null;
  }
  const merged = mergeIntervals(raw);
  if (merged.length > MAX_RAW_INTERVALS) return null;
  return { ...plan, straddling: { origin: since, ms: bucketMs }, raw: merged };
}

/** Sorted, touching intervals joined. */
function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else out.push({ ...i });
  }
  return out;
}
