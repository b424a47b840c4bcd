// Exponential backoff with full jitter: the n-th consecutive failure waits a
// uniformly random time in [0, min(max, initial * 2^(n-1))].
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}

export class Backoff {
  private failures = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** Records a failure; returns how long to wait before the next try (ms). */
  fail(): number {
    this.failures++;
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.failures - 1, 52));
    return Math.floor((this.opts.random ?? Math.random)() * ceiling);
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
