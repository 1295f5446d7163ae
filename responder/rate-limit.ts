import { LruMap } from './lru.js';

interface Bucket {
  tokens: number;
  updatedMs: number;
  /** Whether the last packet was refused: a source is logged once per episode, not per packet. */
  limited: boolean;
}

export type RateDecision = 'allow' | 'deny' | 'deny_first';

/** Token bucket per source address (`rate` per second, up to `burst`), for at most `maxSources` sources. */
export class SourceRateLimiter {
  private readonly buckets: LruMap<string, Bucket>;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    maxSources: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.buckets = new LruMap(maxSources);
  }

  /** 'deny_first' is the first refusal after allowed traffic, worth one log line. */
  take(source: string): RateDecision {
    const now = this.now();
    let bucket = this.buckets.get(source);
    if (!bucket) {
      bucket = { tokens: this.burst, updatedMs: now, limited: false };
      this.buckets.set(source, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.rate);
      bucket.updatedMs = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.limited = false;
      return 'allow';
    }
    const first = !bucket.limited;
    bucket.limited = true;
    return first ? 'deny_first' : 'deny';
  }
}
