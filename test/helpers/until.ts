// Waiting on a condition, never on time. The one set of waiting helpers:
//   until(check, opts): polls `check` until it returns a truthy value and
//     returns that value; throws naming `what` after the deadline.
//   settled(read, done, opts): polls `read` until `done(value)` and returns
//     the last value read, also after the deadline, so the caller's
//     assertion on it fails showing what was there instead of a timeout.
export interface UntilOptions {
  /** Give up after this long (default 20 s: only a failing test waits it out). */
  timeoutMs?: number;
  /** Pause between checks (default 10 ms; use ~200 ms for checks that scrape /metrics of a process under test). */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(check: () => T | Promise<T>, opts: UntilOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 20_000, intervalMs = 10, what = "condition" } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(intervalMs);
  }
}

export async function settled<T>(read: () => T | Promise<T>, done: (value: T) => boolean, opts: Omit<UntilOptions, "what"> = {}): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 10 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await pause(intervalMs);
  }
}
