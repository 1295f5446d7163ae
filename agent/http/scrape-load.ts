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
  /** One for the cache while the rendering may be served again, one per response still sending it. */
  holds: number;
  settled?: { value: T };
}

/** What holds a body until it emits 'close' (a ServerResponse: sent, or its connection gone). */
export interface BodyHolder {
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Reuses a rendering of the same registry (and variant: format and encoding) started within `maxAgeMs`,
 * and hands it to `dispose` once it can neither be served again nor is still being sent to anyone
 * (the renderer then writes its memory again).
 */
export class RenderReuse<T> {
  private readonly recent = new WeakMap<object, Map<string, Rendered<T>>>();

  constructor(
    private readonly maxAgeMs = RENDER_REUSE_MS,
    private readonly now: () => number = () => performance.now(),
    private readonly dispose: (body: T) => void = () => {},
  ) {}

  /** The body to send, held for `holder` until it closes. */
  body(registry: object, variant: string, render: () => Promise<T>, holder?: BodyHolder): Promise<T> {
    let variants = this.recent.get(registry);
    if (!variants) this.recent.set(registry, (variants = new Map()));
    const now = this.now();
    // Every variant, so a rendering nobody asks for again (a one-off curl) does not keep its memory.
    for (const [key, last] of variants) {
      if (now - last.startedAt < this.maxAgeMs) continue;
      variants.delete(key);
      this.release(last);
    }
    let rendered = variants.get(variant);
    if (!rendered) rendered = this.start(variants, variant, now, render);
    if (holder) {
      const held = rendered;
      held.holds += 1;
      holder.once('close', () => this.release(held));
    }
    return rendered.body;
  }

  private start(variants: Map<string, Rendered<T>>, variant: string, now: number, render: () => Promise<T>): Rendered<T> {
    const rendered: Rendered<T> = { startedAt: now, body: render(), holds: 1 };
    variants.set(variant, rendered);
    rendered.body.then(
      (value) => {
        rendered.settled = { value };
        if (rendered.holds === 0) this.dispose(value);
      },
      // A failed rendering is not served again.
      () => {
        if (variants.get(variant) !== rendered) return;
        variants.delete(variant);
        this.release(rendered);
      },
    );
    return rendered;
  }

  private release(rendered: Rendered<T>): void {
    rendered.holds -= 1;
    if (rendered.holds === 0 && rendered.settled) this.dispose(rendered.settled.value);
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
