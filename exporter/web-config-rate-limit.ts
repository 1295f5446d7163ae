/** Token bucket: `burst` requests at once, then one per `intervalSeconds` on average (toolkit's rate_limit). */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly intervalSeconds: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  allow(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / this.intervalSeconds);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
