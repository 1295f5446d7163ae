/**
 * RFC 3550 §6.4.1 interarrival-jitter estimator applied to probe durations: the smoothed mean of
 * |D(i) − D(i−1)| between consecutive successful attempts, J += (|D| − J) / 16, starting from 0.
 * Lost attempts are simply not fed in, as RFC 3550 skips lost packets. One estimator per target.
 */
export class JitterEstimator {
  private previous: number | undefined;
  private jitter: number | undefined;

  /** Feeds one successful duration (seconds); returns the jitter, or undefined for the first sample (no difference yet). */
  update(durationSeconds: number): number | undefined {
    const previous = this.previous;
    this.previous = durationSeconds;
    if (previous === undefined) return this.jitter;
    const current = this.jitter ?? 0;
    this.jitter = current + (Math.abs(durationSeconds - previous) - current) / 16;
    return this.jitter;
  }

  /** The current estimate in seconds; undefined until two samples have been seen. */
  get value(): number | undefined {
    return this.jitter;
  }

  /** Forgets all history, e.g. when a target's module changes on reload. */
  reset(): void {
    this.previous = undefined;
    this.jitter = undefined;
  }
}
