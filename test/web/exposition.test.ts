// /metrics content negotiation (web/exposition.ts): the format from Accept and gzip from
// Accept-Encoding as client_golang's promhttp negotiates them, checked on the agent's handler over
// real HTTP, and a real Prometheus (Debian package prometheus, 2.42) scraping it: Prometheus asks for
// OpenMetrics with gzip, and every sample arrives as it would in the text format. Loopback only.
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exporterHandler } from '../../agent/http/handler.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { FastRegistry } from '../../lib/metrics/fast-registry.js';
import { toOpenMetrics } from '../../lib/metrics/openmetrics.js';
import { ExpositionRenderer, negotiateExposition, type ExpositionVariant } from '../../web/exposition.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { parseExposition } from '../support/exposition.js';
import { startPrometheus, staticScrape, type PrometheusInstance } from '../support/prometheus.js';

/** The Accept header Prometheus 2.42 sends on every scrape (scrape/scrape.go, acceptHeader). */
const PROMETHEUS_2_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** Prometheus 3's default scrape_protocols. */
const PROMETHEUS_3_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';

describe('negotiateExposition', () => {
  it.each([
    [undefined, 'text'],
    ['*/*', 'text'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text'],
    [PROMETHEUS_2_ACCEPT, 'openmetrics-1.0.0'],
    [PROMETHEUS_3_ACCEPT, 'openmetrics-1.0.0'],
    ['application/openmetrics-text', 'openmetrics-1.0.0'],
    ['application/openmetrics-text; version=0.0.1', 'openmetrics-0.0.1'],
    ['application/openmetrics-text;version=2.0.0', 'text'],
    ['text/plain;q=0.9, application/openmetrics-text;q=0.5', 'text'],
    ['application/openmetrics-text;q=0, text/plain;q=0.1', 'text'],
  ])('Accept %s → %s', (accept, format) => {
    expect(negotiateExposition({ accept }).format).toBe(format);
  });

  it.each([
    [undefined, 'identity'],
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'gzip'],
    ['br', 'identity'],
    ['*', 'gzip'],
    ['gzip;q=0', 'identity'],
    ['*;q=0, identity', 'identity'],
    ['identity;q=1, gzip;q=0.5', 'identity'],
    ['identity;q=0, gzip;q=0.5', 'gzip'],
  ])('Accept-Encoding %s → %s', (acceptEncoding, encoding) => {
    expect(negotiateExposition({ 'accept-encoding': acceptEncoding }).encoding).toBe(encoding);
  });
});

describe('ExpositionRenderer', () => {
  const VARIANTS: ExpositionVariant[] = (['text', 'openmetrics-1.0.0', 'openmetrics-0.0.1'] as const).flatMap((format) =>
    (['identity', 'gzip'] as const).map((encoding) => ({ format, encoding })),
  );

  /** What the previous renderer sent: prom-client's own text, converted by toOpenMetrics for OpenMetrics. */
  async function reference(plain: Registry, variant: ExpositionVariant): Promise<string> {
    const text = await plain.metrics();
    return variant.format === 'text' ? text : Buffer.concat(toOpenMetrics([Buffer.from(text)])).toString();
  }

  async function rendered(renderer: ExpositionRenderer, registry: Registry, variant: ExpositionVariant): Promise<{ text: string; release: () => void }> {
    const encoded = await renderer.render(registry, variant);
    const body = Buffer.concat(encoded.body);
    expect(Number(encoded.headers['Content-Length'])).toBe(body.length);
    expect(encoded.headers['Content-Encoding']).toBe(variant.encoding === 'gzip' ? 'gzip' : undefined);
    return { text: (variant.encoding === 'gzip' ? gunzipSync(body) : body).toString(), release: encoded.release };
  }

  it("sends, in every variant, what prom-client's registry gives, scrape after scrape in the same memory", async () => {
    const registries = [new Registry(), new FastRegistry()] as const;
    const agents = registries.map((registry) => {
      registry.setDefaultLabels({ site: 'esb' });
      return new AgentMetrics(registry, ['link']);
    });
    const targets = ['hsl', 'wan', 'süd "ost"'].map((target) => ({ target, kind: 'icmp', link: 'hsl' }));
    for (const agent of agents) for (const labels of targets) agent.addTarget(labels);
    const renderer = new ExpositionRenderer();
    for (let round = 0; round < 4; round++) {
      for (const agent of agents) {
        targets.forEach((labels, i) => agent.recordAttempt(labels, { ok: true, durationSeconds: 0.001 * (round + 1) * (i + 3) }, 0.0001, 1_700_000_000 + round));
        // A smaller exposition than the one before it, written into the same buffer.
        if (round === 2) agent.removeTarget(targets[2]!);
      }
      for (const variant of VARIANTS) {
        const { text, release } = await rendered(renderer, registries[1], variant);
        expect(text, `${variant.format} ${variant.encoding}, round ${round}`).toBe(await reference(registries[0], variant));
        release();
      }
    }
    // One buffer the size of the text, one the size of the compressed text.
    expect(renderer.freeBuffers).toBe(2);
  });

  it('never writes into the memory of a body not yet released', async () => {
    const registry = new FastRegistry();
    const histogram = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['t'], buckets: [0.1, 1], registers: [registry] });
    histogram.observe({ t: 'a' }, 0.5);
    const renderer = new ExpositionRenderer();
    for (const variant of VARIANTS) {
      const held = await renderer.render(registry, variant);
      const sent = Buffer.from(Buffer.concat(held.body));
      histogram.observe({ t: 'a' }, 0.05);
      histogram.observe({ t: `b${variant.format}` }, 2);
      const next = await renderer.render(registry, variant);
      expect(Buffer.concat(held.body)).toEqual(sent);
      expect(Buffer.concat(next.body)).not.toEqual(sent);
      held.release();
      next.release();
    }
  });

  it('converts to OpenMetrics through a second buffer when it cannot in place, with the same result', async () => {
    const registries = [new Registry(), new FastRegistry()] as const;
    for (const registry of registries) {
      // Its HELP gains two escapes before its series lines: they would have to move right.
      new Histogram({ name: 'q_seconds', help: 'a "b"', labelNames: ['t'], buckets: [1], registers: [registry] }).observe({ t: 'x' }, 0.5);
      new Counter({ name: 'c_total', help: 'c', registers: [registry] }).inc();
    }
    const renderer = new ExpositionRenderer();
    for (const variant of VARIANTS) {
      const { text, release } = await rendered(renderer, registries[1], variant);
      expect(text).toBe(await reference(registries[0], variant));
      release();
    }
  });
});

describe("the agent's /metrics", () => {
  let server: WebServer;
  let prometheus: PrometheusInstance | undefined;
  /** What Prometheus asked for and what it got, per scrape. */
  const prometheusScrapes: { accept?: string; acceptEncoding?: string; response: Record<string, string> }[] = [];

  beforeAll(async () => {
    const registry = new FastRegistry();
    registry.setDefaultLabels({ site: 'esb' });
    const metrics = new AgentMetrics(registry, ['link']);
    const labels = { target: 'hsl-far-end', kind: 'icmp', link: 'hsl' };
    metrics.addTarget(labels);
    for (const rtt of [0.004, 0.012, 0.3]) {
      metrics.attemptStarted(labels);
      metrics.recordAttempt(labels, { ok: true, durationSeconds: rtt }, 0.001, 1_700_000_000);
    }
    metrics.attemptStarted(labels);
    metrics.recordAttempt(labels, { ok: false, reason: 'timeout', detail: 'no reply' }, undefined, 1_700_000_001);
    const handler = exporterHandler({ registry: () => registry, ready: () => true, statusPage: () => undefined, onError: () => {} });
    server = await startWebServer({
      listen: { address: '127.0.0.1', port: 0 },
      log: pino({ level: 'silent' }),
      handler: (req, res) => {
        if (req.headers['user-agent']?.startsWith('Prometheus/')) {
          const writeHead = res.writeHead.bind(res) as (status: number, headers: Record<string, string>) => typeof res;
          res.writeHead = ((status: number, headers: Record<string, string>) => {
            prometheusScrapes.push({ accept: req.headers.accept, acceptEncoding: req.headers['accept-encoding'], response: headers });
            return writeHead(status, headers);
          }) as typeof res.writeHead;
        }
        handler(req, res);
      },
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await server?.close();
  });

  const get = (headers: Record<string, string>, method = 'GET') => fetch(`${server.url}/metrics`, { headers, method });

  it('compresses with gzip when asked and sends the same text', async () => {
    const plain = await get({ 'accept-encoding': 'identity' });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await plain.text();
    // fetch would decompress by itself; node:http-level bytes are what went over the wire.
    const compressed = await rawGet(`${server.url}/metrics`, { 'accept-encoding': 'gzip' });
    expect(compressed.headers['content-encoding']).toBe('gzip');
    expect(compressed.headers.vary).toBe('Accept, Accept-Encoding');
    expect(Number(compressed.headers['content-length'])).toBe(compressed.body.length);
    expect(compressed.body.length).toBeLessThan(Buffer.byteLength(text) / 4);
    expect(gunzipSync(compressed.body).toString()).toBe(text);
  });

  it('answers OpenMetrics when asked, with the same samples', async () => {
    const response = await get({ accept: PROMETHEUS_2_ACCEPT, 'accept-encoding': 'identity' });
    expect(response.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const openMetrics = await response.text();
    expect(openMetrics.endsWith('\n# EOF\n')).toBe(true);
    expect(openMetrics).toContain('# TYPE linkmon_probe_attempts counter\n');
    const text = await (await get({})).text();
    expect(parseExposition(openMetrics)).toEqual(parseExposition(text));
  });

  it('answers HEAD with the headers of the GET and no body', async () => {
    const head = await rawGet(`${server.url}/metrics`, { 'accept-encoding': 'gzip' }, 'HEAD');
    expect(head.headers['content-encoding']).toBe('gzip');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body.length).toBe(0);
  });

  it('is scraped by Prometheus as gzip-compressed OpenMetrics, every sample intact', async () => {
    prometheus = await startPrometheus({ scrapeConfigs: [staticScrape('linkmon', [new URL(server.url).host])] });
    const attempts = await prometheus.waitForSeries('linkmon_probe_attempts_total{target="hsl-far-end"}', 30_000);
    expect(attempts[0]!.value[1]).toBe('4');
    expect(await prometheus.queryValue('linkmon_probe_failures_total{target="hsl-far-end",reason="timeout"}')).toBe(1);
    expect(await prometheus.queryValue('linkmon_probe_duration_seconds_count{target="hsl-far-end"}')).toBe(3);
    expect(await prometheus.queryValue('linkmon_probe_duration_seconds_bucket{target="hsl-far-end",le="+Inf"}')).toBe(3);
    expect(await prometheus.queryValue('count(linkmon_probe_duration_seconds_bucket{target="hsl-far-end"})')).toBeGreaterThan(50);
    const [target] = await prometheus.targets();
    expect(target).toMatchObject({ health: 'up', lastError: '' });
    expect(prometheusScrapes[0]).toMatchObject({
      accept: PROMETHEUS_2_ACCEPT,
      acceptEncoding: 'gzip',
      response: { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8', 'Content-Encoding': 'gzip' },
    });
  });
});

function rawGet(url: string, headers: Record<string, string>, method = 'GET'): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return import('node:http').then(
    ({ request }) =>
      new Promise((resolve, reject) => {
        const req = request(url, { headers, method }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      }),
  );
}
