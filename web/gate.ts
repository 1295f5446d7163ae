import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../lib/config-file.js';
import { BasicAuthVerifier, parseBasicAuth, type AuthOutcome } from './auth.js';
import { createBcryptWorker } from './bcrypt.js';
import type { WebConfig } from './config-load.js';
import { FailureLimiter } from '../lib/failure-limit.js';
import { SummarizedLog } from '../lib/log-summary.js';
import { TokenBucket } from '../lib/token-bucket.js';
import { WebConfigSource } from './config-source.js';

/**
 * Failed basic-auth logins per source address: 10 at once, then 6 a minute. Prometheus with a
 * wrong password fails once per scrape (4 a minute at 15 s) and is never slowed; 50 clients
 * guessing from one address cost one bcrypt compare every 10 s instead of a core.
 */
export const FAILED_LOGINS = { burst: 10, perMinute: 6 } as const;

/**
 * A refused login (429) is answered after this delay, for at most this many requests at once (more
 * are answered at once). Measured (bench/hostile-input.ts, 50 guessing clients for 30 s): answered
 * at once, the 429s came at ~2,300/s and took 63 % of a core; held for 1 s, ~50/s.
 */
const LIMITED_REPLY_DELAY_MS = 1000;
const MAX_HELD_REPLIES = 256;

export const NO_WEB_CONFIG: WebConfig = { file: '', users: new Map(), headers: {}, authExcludedPaths: new Set(), watchedFiles: [] };

/** A request handler; a returned promise is awaited so its rejection becomes a 500. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface WebGate {
  /** Wraps a handler so the web config's headers, rate limit and basic auth come first. */
  wrap(handler: Handler): (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

export interface WebGateOptions {
  log: Logger;
  /** Without a source the gate lets everything through. */
  source?: WebConfigSource;
  /**
   * Only these paths get the rate limit and basic auth (the responder: /metrics, as its test
   * endpoints use bearer tokens). Default: every path but the config's auth_excluded_paths.
   */
  protectedPaths?: readonly string[];
}

/** The request-level half of the web config, for any node:http(s) server. */
export function createWebGate(options: WebGateOptions): WebGate {
  const { log, source } = options;
  const protectedPaths = options.protectedPaths && new Set(options.protectedPaths);
  const bcrypt = createBcryptWorker();
  const verifier = new BasicAuthVerifier({ compare: bcrypt.compare });
  let limiter = source && rateLimiterFor(source.config);
  const failures = new FailureLimiter(FAILED_LOGINS.burst, FAILED_LOGINS.perMinute);
  const failureLog = new SummarizedLog(log, 'basic auth failed');
  const tarpit = new Tarpit(LIMITED_REPLY_DELAY_MS, MAX_HELD_REPLIES);
  source?.onReload((config) => (limiter = rateLimiterFor(config)));

  const admit = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const config = source ? await source.get() : NO_WEB_CONFIG;
    for (const [name, value] of Object.entries(config.headers)) res.setHeader(name, value);
    const path = (req.url ?? '/').split('?')[0]!;
    if (protectedPaths && !protectedPaths.has(path)) return true;
    if (limiter && !limiter.take()) {
      reply(res, 429, 'Too Many Requests');
      return false;
    }
    if (config.users.size === 0 || config.authExcludedPaths.has(path)) return true;
    const credentials = parseBasicAuth(req.headers.authorization);
    const remote = req.socket.remoteAddress;
    // Each compare takes one of the source's failed-login allowance first (given back on success); a
    // source with none left gets no bcrypt compare, unless its credentials were verified before.
    let retryAfter: number | undefined;
    let outcome: AuthOutcome | 'limited' = 'denied';
    if (credentials && verifier.isKnownGood(config.users, credentials)) outcome = 'ok';
    else if (credentials) {
      retryAfter = failures.reserve(remote);
      outcome = retryAfter !== undefined ? 'limited' : await verifier.verify(config.users, credentials);
      if (outcome !== 'denied' && retryAfter === undefined) failures.refund(remote);
    }
    if (outcome === 'busy' || outcome === 'limited') {
      res.setHeader('Retry-After', String(retryAfter ?? 1));
      if (outcome === 'limited') {
        failureLog.record('too_many_failures', remote, { path });
        // Held a moment: a guesser that waits for answers slows down instead of spinning on instant 429s.
        await tarpit.hold();
      }
      reply(res, 429, 'Too Many Requests');
      return false;
    }
    if (outcome === 'denied') {
      if (credentials) failureLog.record('wrong_credentials', remote, { path });
      res.setHeader('WWW-Authenticate', 'Basic');
      reply(res, 401, 'Unauthorized');
      return false;
    }
    return true;
  };

  return {
    wrap: (handler) => (req, res) => {
      const serve = async () => {
        if (await admit(req, res)) await handler(req, res);
      };
      serve().catch((err: unknown) => {
        log.error({ err, path: req.url }, 'request failed');
        if (!res.headersSent) reply(res, 500, 'Internal Server Error');
        else res.destroy();
      });
    },
    close: () => {
      failureLog.close();
      tarpit.close();
      return bcrypt.close();
    },
  };
}

/**
 * For a server that does its own TLS (the responder): headers, rate limit and basic auth from the
 * web config on `protectedPaths` only. A tls_server_config there would be silently unused, so it
 * is refused, at start and on reload.
 */
export async function openWebGate(webConfigFile: string, log: Logger, protectedPaths: readonly string[]): Promise<WebGate> {
  const check = (next: WebConfig) => (next.tls ? 'tls_server_config: not used here (this server takes TLS settings from its own config); remove it' : undefined);
  const source = await WebConfigSource.open(webConfigFile, { log, check });
  const refused = check(source.config);
  if (refused) throw new ConfigError(webConfigFile, [refused]);
  return createWebGate({ log, source, protectedPaths });
}

function rateLimiterFor(config: WebConfig): TokenBucket | undefined {
  return config.rateLimit ? new TokenBucket(1 / config.rateLimit.intervalSeconds, config.rateLimit.burst) : undefined;
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${text}\n`);
}

/** Delays replies by `delayMs`, at most `max` at a time; close() releases every one at once. */
class Tarpit {
  private readonly held = new Set<{ timer: NodeJS.Timeout; release: () => void }>();

  constructor(
    private readonly delayMs: number,
    private readonly max: number,
  ) {}

  hold(): Promise<void> {
    if (this.held.size >= this.max) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.held.delete(entry);
          resolve();
        }, this.delayMs),
        release: resolve,
      };
      this.held.add(entry);
    });
  }

  close(): void {
    for (const entry of this.held) {
      clearTimeout(entry.timer);
      entry.release();
    }
    this.held.clear();
  }
}
