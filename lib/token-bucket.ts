/**
 * Token bucket: holds up to `burst` tokens, refilled at `ratePerSecond`; each admitted event takes
 * one. The clock (seconds, monotonic) is injected so tests can step it.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Gives back a token taken for an event that turned out not to count. */
  refund(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /** Seconds until take() would succeed; 0 when it would now. */
  secondsUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.ratePerSecond;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.ratePerSecond);
    this.updatedAt = now;
  }
}
