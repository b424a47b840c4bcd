// Waiting on a condition, never on time: polls `check` until it returns a
// truthy value and returns that value; throws naming `what` after the deadline.
export interface UntilOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks (default 10 ms; use ~200 ms for checks that scrape /metrics of a process under test). */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

export async function until<T>(check: () => T | Promise<T>, opts: UntilOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 10, what = "condition" } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
