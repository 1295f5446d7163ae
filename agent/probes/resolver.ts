import { Resolver } from 'node:dns/promises';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { describeError, errorCode } from '../../lib/error-code.js';
import { AttemptDeadline, DEADLINE_PASSED } from './deadline.js';

import { failure, type ProbeFailure } from './types.js';

export type AddressFamily = 4 | 6;
/** 0: either family, IPv4 first. */
export type WantedFamily = 0 | AddressFamily;

export interface ResolvedAddress {
  address: string;
  family: AddressFamily;
}

export interface NameResolverOptions {
  /** DNS servers ("127.0.0.1:5353"); /etc/resolv.conf's when absent (re-read when it changes). */
  servers?: string[];
  hostsFile?: string;
  resolvConf?: string;
  maxConcurrentQueries?: number;
}

/**
 * c-ares waits this long for a server's first answer and doubles it on the second try: ~3 s per
 * query against a dead server. An attempt stops waiting at its own deadline; the query goes on
 * (bounded by this) and a later attempt for the same name joins it instead of starting another.
 */
const QUERY_TIMEOUT_MS = 1000;
const QUERY_TRIES = 2;
/** Queries in flight at once; more wait their turn (inside their attempts' deadlines). */
const DEFAULT_MAX_CONCURRENT_QUERIES = 8;
/** /etc/hosts and /etc/resolv.conf are stat()ed at most this often to notice edits. */
const FILE_RECHECK_MS = 5000;
/** Names are config values, so few; the bound only guards against a bug. */
const MAX_CACHED_NAMES = 1024;

/**
 * Name resolution for every prober, as part of the attempt and inside its deadline. Node's
 * dns.lookup runs getaddrinfo() on libuv's four-thread pool with no deadline: with the resolver
 * unreachable, lookups queued there for 40-60 s each (issue #11) and held SIGTERM. Here:
 *
 * 1. An IP address is used as given.
 * 2. /etc/hosts, read by us (c-ares' resolve*() never reads it), first matching line wins as in
 *    glibc; then `localhost` and `*.localhost` are loopback (RFC 6761) even when the file lacks them.
 * 3. DNS through c-ares (dns.Resolver: its own sockets, a timeout and a try count), the name exactly
 *    as configured: resolv.conf's search list is not applied, so give fully qualified names.
 *    Either family: A first, AAAA when the name has no A record.
 *
 * Answers are cached for their TTL (0: not cached); concurrent lookups of one name share one
 * query; at most `maxConcurrentQueries` queries run at once. A failure is reason `dns`, also when
 * the deadline passes while waiting for the resolver.
 */
export class NameResolver {
  private readonly hosts: WatchedFile<Map<string, ResolvedAddress[]>>;
  private readonly resolvConf: WatchedFile<Resolver>;
  private readonly cache = new Map<string, { addresses: ResolvedAddress[]; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<ResolvedAddress[]>>();
  private readonly slots: QuerySlots;

  constructor(options: NameResolverOptions = {}) {
    this.hosts = new WatchedFile(options.hostsFile ?? '/etc/hosts', parseHostsFile);
    this.resolvConf = new WatchedFile(options.resolvConf ?? '/etc/resolv.conf', () => {
      const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
      if (options.servers) resolver.setServers(options.servers);
      return resolver;
    });
    this.slots = new QuerySlots(options.maxConcurrentQueries ?? DEFAULT_MAX_CONCURRENT_QUERIES);
  }

  /** The first address of `host` in `family`, or a `dns` failure; never later than the deadline. */
  async resolve(host: string, family: WantedFamily, deadline: AttemptDeadline): Promise<ResolvedAddress | ProbeFailure> {
    const literal = isIP(host);
    if (literal !== 0) return { address: host, family: literal as AddressFamily };
    const name = host.toLowerCase().replace(/\.$/, '');
    const local = this.fromHostsFile(name, family);
    if (local) return local;
    const key = `${family} ${name}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > performance.now()) return cached.addresses[0]!;
    for (;;) {
      const answer = await deadline.within(this.query(key, name, family));
      if (answer === DEADLINE_PASSED) {
        return failure('dns', deadline.expired ? `resolve ${host}: no answer from the resolver within ${deadline.timeoutSeconds}s` : `resolve ${host}: stopped`);
      }
      if (answer.ok) return answer.addresses[0]!;
      // No answer from the server (c-ares gave up): ask again while the attempt has time left.
      if (errorCode(answer.error) === 'ETIMEOUT' && deadline.remainingSeconds() > 0) continue;
      return failure('dns', `resolve ${host}: ${describeError(answer.error)}`);
    }
  }

  private fromHostsFile(name: string, family: WantedFamily): ResolvedAddress | undefined {
    const entries = this.hosts.current()?.get(name) ?? (name === 'localhost' || name.endsWith('.localhost') ? LOCALHOST : []);
    return entries.find((entry) => family === 0 || entry.family === family);
  }

  /** One query per name at a time, however many attempts wait for it. */
  private query(key: string, name: string, family: WantedFamily): Promise<{ ok: true; addresses: ResolvedAddress[] } | { ok: false; error: unknown }> {
    let running = this.inFlight.get(key);
    if (!running) {
      running = this.slots.run(() => this.ask(key, name, family));
      this.inFlight.set(key, running);
      const forget = () => this.inFlight.delete(key);
      running.then(forget, forget);
    }
    return running.then(
      (addresses) => ({ ok: true as const, addresses }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  }

  private async ask(key: string, name: string, family: WantedFamily): Promise<ResolvedAddress[]> {
    const resolver = this.resolvConf.current() ?? this.resolvConf.fallback();
    let records: ResolvedRecords;
    try {
      records = await queryFamily(resolver, name, family === 6 ? 6 : 4);
    } catch (err) {
      if (family !== 0 || errorCode(err) !== 'ENODATA') throw err;
      records = await queryFamily(resolver, name, 6);
    }
    if (records.addresses.length === 0) throw Object.assign(new Error(`no address for ${name}`), { code: 'ENODATA' });
    if (records.ttlSeconds > 0) {
      if (this.cache.size >= MAX_CACHED_NAMES) this.cache.clear();
      this.cache.set(key, { addresses: records.addresses, expiresAt: performance.now() + records.ttlSeconds * 1000 });
    }
    return records.addresses;
  }
}

interface ResolvedRecords {
  addresses: ResolvedAddress[];
  ttlSeconds: number;
}

async function queryFamily(resolver: Resolver, name: string, family: AddressFamily): Promise<ResolvedRecords> {
  const records = family === 4 ? await resolver.resolve4(name, { ttl: true }) : await resolver.resolve6(name, { ttl: true });
  return { addresses: records.map((r) => ({ address: r.address, family })), ttlSeconds: Math.min(...records.map((r) => r.ttl)) };
}

const LOCALHOST: ResolvedAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** Runs at most `limit` tasks at once, the rest in order of arrival. */
class QuerySlots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.active += 1;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.active -= 1;
            this.waiting.shift()?.();
          });
      };
      if (this.active < this.limit) start();
      else this.waiting.push(start);
    });
  }
}

/** A small file read when first needed and again when its mtime changes (checked at most every FILE_RECHECK_MS). */
class WatchedFile<T> {
  private value: T | undefined;
  private mtimeMs = Number.NaN;
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly path: string,
    private readonly parse: (text: string) => T,
  ) {}

  /** The parsed file, or undefined when it cannot be read. */
  current(): T | undefined {
    const now = performance.now();
    if (now - this.checkedAt < FILE_RECHECK_MS) return this.value;
    this.checkedAt = now;
    try {
      const { mtimeMs } = statSync(this.path);
      if (mtimeMs !== this.mtimeMs) {
        this.value = this.parse(readFileSync(this.path, 'utf8'));
        this.mtimeMs = mtimeMs;
      }
    } catch {
      this.mtimeMs = Number.NaN;
      this.value = undefined;
    }
    return this.value;
  }

  /** Parsed from nothing: e.g. a resolver with c-ares' defaults when resolv.conf is missing. */
  fallback(): T {
    return (this.value ??= this.parse(''));
  }
}

/** /etc/hosts: `address name [alias...]` per line, `#` comments; names in lower case, file order kept. */
export function parseHostsFile(text: string): Map<string, ResolvedAddress[]> {
  const names = new Map<string, ResolvedAddress[]>();
  for (const line of text.split('\n')) {
    const [address, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/);
    const family = address ? isIP(address.replace(/%.*$/, '')) : 0;
    if (!address || family === 0) continue;
    for (const alias of aliases) {
      const name = alias.toLowerCase();
      const list = names.get(name) ?? [];
      list.push({ address, family: family as AddressFamily });
      names.set(name, list);
    }
  }
  return names;
}

/** The one resolver of the agent's probers (and SNMP and throughput), so they share its cache and its bound. */
export const systemResolver = new NameResolver();
