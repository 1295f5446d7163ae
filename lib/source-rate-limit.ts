import { TokenBucket } from './token-bucket.js';
import { LruMap } from './lru.js';

interface Source {
  bucket: TokenBucket;
  /** Whether the last packet was refused: a source is logged once per episode, not per packet. */
  limited: boolean;
}

export type RateDecision = 'allow' | 'deny' | 'deny_first';

/** A token bucket per source address (`rate` per second, up to `burst`), for at most `maxSources` sources. */
export class SourceRateLimiter {
  private readonly sources: LruMap<string, Source>;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    maxSources: number,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.sources = new LruMap(maxSources);
  }

  /** 'deny_first' is the first refusal after allowed traffic, worth one log line. */
  take(address: string): RateDecision {
    let source = this.sources.get(address);
    if (!source) {
      source = { bucket: new TokenBucket(this.rate, this.burst, this.now), limited: false };
      this.sources.set(address, source);
    }
    if (source.bucket.take()) {
      source.limited = false;
      return 'allow';
    }
    const first = !source.limited;
    source.limited = true;
    return first ? 'deny_first' : 'deny';
  }
}
