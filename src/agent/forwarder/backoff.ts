// Retry timing, the one place the backoff arithmetic lives: exponential
// backoff with full jitter. After the n-th consecutive failure the wait is
// uniformly random in [0, min(maxMs, initialMs * 2^(n-1))].
export interface RetryTimingOptions {
  initialMs: number;
  maxMs: number;
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
}

export class RetryTiming {
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: RetryTimingOptions) {
    this.initialMs = opts.initialMs;
    this.maxMs = opts.maxMs;
    this.random = opts.random ?? Math.random;
  }

  /** The longest wait after `failures` consecutive failures (1 = the first), ms. */
  ceiling(failures: number): number {
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(Math.max(failures, 1) - 1, 52));
  }

  /** How long to wait after `failures` consecutive failures (1 = the first), ms. */
  delay(failures: number): number {
    return Math.floor(this.random() * this.ceiling(failures));
  }
}
