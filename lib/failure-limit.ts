import { LruMap } from './lru.js';
import { sourceKey } from './source-address.js';
import { TokenBucket } from './token-bucket.js';

/**
 * Failed attempts (logins, tokens) allowed per source: `burst` at once, then `perMinute`. While a
 * source has none left it is refused without the check being run (bcrypt is the cost an attacker
 * wants to impose). State is kept for at most `maxSources` sources, least recently used evicted.
 */
export class FailureLimiter {
  private readonly sources: LruMap<string, TokenBucket>;

  constructor(
    private readonly burst: number,
    private readonly perMinute: number,
    maxSources = 10_000,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.sources = new LruMap(maxSources);
  }

  /** Whole seconds until `address` may try again, or undefined when it may try now. */
  retryAfterSeconds(address: string | undefined): number | undefined {
    const wait = this.sources.get(sourceKey(address))?.secondsUntilToken() ?? 0;
    return wait > 0 ? Math.max(1, Math.ceil(wait)) : undefined;
  }

  recordFailure(address: string | undefined): void {
    const key = sourceKey(address);
    let bucket = this.sources.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.perMinute / 60, this.burst, this.now);
      this.sources.set(key, bucket);
    }
    bucket.take();
  }
}
