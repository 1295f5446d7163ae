import { createHmac, randomBytes } from 'node:crypto';
import type { BcryptCompare } from './bcrypt.js';
import { bcryptCost } from './config-schema.js';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** Decodes `Authorization: Basic base64(user:password)`; undefined for anything else. */
export function parseBasicAuth(header: string | undefined): BasicCredentials | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export type AuthOutcome = 'ok' | 'denied' | 'busy';

export interface BasicAuthVerifierOptions {
  compare: BcryptCompare;
  /** Successful verifications remembered (oldest dropped first). */
  cacheSize?: number;
  /** bcrypt compares allowed in flight before new uncached attempts get 'busy' (429) without one. */
  maxInFlight?: number;
}

/**
 * Checks basic-auth credentials against bcrypt hashes. A successful check is cached under an HMAC
 * of (user, hash, password) with a per-process key, so a scrape costs a bcrypt compare only the
 * first time and the cache never holds a password or a fast hash of one; a changed hash in the
 * file misses the cache. An unknown user still costs one compare (against a dummy hash of the
 * configured cost), so response times do not reveal which users exist.
 */
export class BasicAuthVerifier {
  private readonly compare: BcryptCompare;
  private readonly cacheSize: number;
  private readonly maxInFlight: number;
  private readonly cacheKeySecret = randomBytes(32);
  private readonly verified = new Set<string>();
  private inFlight = 0;

  constructor(options: BasicAuthVerifierOptions) {
    this.compare = options.compare;
    this.cacheSize = options.cacheSize ?? 100;
    this.maxInFlight = options.maxInFlight ?? 64;
  }

  /** Whether these credentials were verified before (a cache hit, no bcrypt compare). */
  isKnownGood(users: ReadonlyMap<string, string>, credentials: BasicCredentials): boolean {
    const hash = users.get(credentials.user);
    return hash !== undefined && this.verified.has(this.cacheKey(credentials, hash));
  }

  async verify(users: ReadonlyMap<string, string>, credentials: BasicCredentials): Promise<AuthOutcome> {
    const hash = users.get(credentials.user);
    const key = hash === undefined ? undefined : this.cacheKey(credentials, hash);
    if (key !== undefined && this.verified.has(key)) return 'ok';
    if (this.inFlight >= this.maxInFlight) return 'busy';
    this.inFlight += 1;
    try {
      const ok = await this.compare(credentials.password, hash, hash === undefined ? dummyCost(users) : bcryptCost(hash));
      if (!ok || key === undefined) return 'denied';
      this.remember(key);
      return 'ok';
    } finally {
      this.inFlight -= 1;
    }
  }

  private cacheKey({ user, password }: BasicCredentials, hash: string): string {
    return createHmac('sha256', this.cacheKeySecret).update(JSON.stringify([user, hash, password])).digest('base64');
  }

  private remember(key: string): void {
    this.verified.add(key);
    if (this.verified.size > this.cacheSize) {
      const oldest = this.verified.values().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
  }
}

/** The highest cost among the configured hashes: an unknown user is never cheaper than a known one. */
function dummyCost(users: ReadonlyMap<string, string>): number {
  let cost = 0;
  for (const hash of users.values()) cost = Math.max(cost, bcryptCost(hash));
  return cost || 10;
}
