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

  /**
   * Takes one attempt from `address`'s allowance before the check runs (so concurrent guesses
   * cannot all pass on the same allowance): undefined when taken, else whole seconds to wait.
   * A check that succeeds gives the attempt back with refund().
   */
  reserve(address: string | undefined): number | undefined {
    const key = sourceKey(address);
    let bucket = this.sources.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.perMinute / 60, this.burst, this.now);
      this.sources.set(key, bucket);
    }
    if (bucket.take()) return undefined;
    return Math.max(1, Math.ceil(bucket.secondsUntilToken()));
  }

  refund(address: string | undefined): void {
    this.sources.get(sourceKey(address))?.refund();
  }
}
