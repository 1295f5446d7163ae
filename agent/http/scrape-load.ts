import type { ServerResponse } from 'node:http';

/**
 * What /metrics may cost the agent. Probing and serving share one event loop, so a scrape storm
 * (100 concurrent keep-alive scrapers, ~500 scrapes/s) rendered the exposition hundreds of times a
 * second and pushed every probe's callbacks back by 150-200 ms (issue #11). Two bounds:
 *
 * - a body rendered less than RENDER_REUSE_MS ago (or still being rendered) is served again, so the
 *   registry is rendered at most ten times a second however many scrapers there are. Its counters
 *   are then up to that much older than the request, and Prometheus stamps them with the scrape's
 *   time: with a whole second of reuse, a utilisation rule over ~20 s of 1 s scrapes read 5.2 %
 *   high (test/agent/snmp/snmp-lab.root.test.ts, a 2 % check); 100 ms bounds that skew to a tenth
 *   of a second and still kept every probe timing within the goal under 100 scrapers
 *   (bench/probe-integrity.ts);
 * - at most `maxConcurrent` scrapes are served at once (node_exporter's --web.max-requests, default
 *   40); more get 503 at once, which costs far less than queueing them.
 */
export const RENDER_REUSE_MS = 100;
export const DEFAULT_MAX_CONCURRENT_SCRAPES = 40;

interface Rendered<T> {
  startedAt: number;
  body: Promise<T>;
}

/** Reuses a rendering of the same registry (and variant: format and encoding) started within `maxAgeMs`. */
export class RenderReuse<T> {
  private readonly recent = new WeakMap<object, Map<string, Rendered<T>>>();

  constructor(
    private readonly maxAgeMs = RENDER_REUSE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  body(registry: object, variant: string, render: () => Promise<T>): Promise<T> {
    let variants = this.recent.get(registry);
    if (!variants) this.recent.set(registry, (variants = new Map()));
    const now = this.now();
    const last = variants.get(variant);
    if (last && now - last.startedAt < this.maxAgeMs) return last.body;
    const rendered: Rendered<T> = { startedAt: now, body: render() };
    variants.set(variant, rendered);
    // A failed rendering is not served again.
    rendered.body.catch(() => variants.get(variant) === rendered && variants.delete(variant));
    return rendered.body;
  }
}

/** Counts scrapes being served (until their response closes) and admits at most `limit` (0: no limit). */
export class ScrapeLimit {
  private active = 0;

  constructor(readonly limit = DEFAULT_MAX_CONCURRENT_SCRAPES) {}

  /** True when `res` may be served now; it then counts until it closes (sent or aborted). */
  admit(res: ServerResponse): boolean {
    if (this.limit > 0 && this.active >= this.limit) return false;
    this.active += 1;
    res.once('close', () => (this.active -= 1));
    return true;
  }

  get inFlight(): number {
    return this.active;
  }
}
