// /metrics renders into memory the agent keeps and writes again (web/exposition.ts, ExpositionRenderer).
// A response still being written to a client that reads slowly must keep its bytes while later scrapes
// render: checked over real HTTP on loopback with a client that stops reading, an exposition far
// larger than the kernel's socket buffers (so most of it waits in the agent's memory), and later
// scrapes of every variant (HEAD included) after the render-reuse window, each compared with
// prom-client's own output for the same registry contents.
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exporterHandler } from '../../../agent/http/handler.js';
import { RENDER_REUSE_MS } from '../../../agent/http/scrape-load.js';
import { AgentMetrics } from '../../../agent/metrics.js';
import { FastRegistry } from '../../../lib/metrics/fast-registry.js';
import { toOpenMetrics } from '../../../lib/metrics/openmetrics.js';
import { listenOnLoopback } from '../../support/ports.js';

/** ~33 KB of histogram lines a target: 400 of them make a ~13 MB exposition (socket buffers: a few MB). */
const TARGETS = 400;
const OPENMETRICS = 'application/openmetrics-text;version=1.0.0';

describe('/metrics to a client that reads slowly', () => {
  const registries = [new Registry(), new FastRegistry()] as const;
  const [plain, fast] = registries;
  const agents = registries.map((registry) => {
    registry.setDefaultLabels({ site: 'esb' });
    return new AgentMetrics(registry, ['link']);
  });
  const targets = Array.from({ length: TARGETS }, (_, i) => ({ target: `dc${i}`, kind: 'icmp', link: 'hsl' }));
  let round = 0;
  /** New observations on every target, the same on both registries. */
  const observe = () => {
    round += 1;
    for (const agent of agents) {
      targets.forEach((labels, i) => agent.recordAttempt(labels, { ok: true, durationSeconds: 0.0001 * 1.05 ** ((i * 7 + round * 13) % 160) }, 0.0002, 1_700_000_000 + round));
    }
  };
  const responses: ServerResponse[] = [];
  let server: Server;
  let port: number;

  beforeAll(async () => {
    for (const agent of agents) for (const labels of targets) agent.addTarget(labels);
    observe();
    const handler = exporterHandler({ registry: () => fast, ready: () => true, statusPage: () => undefined, onError: () => {} });
    server = createServer((req, res) => {
      responses.push(res);
      handler(req, res);
    });
    port = await listenOnLoopback(server);
  });

  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  /** What the previous renderer sent for this registry content: prom-client's text, or its OpenMetrics conversion. */
  async function expected(format: 'text' | 'openmetrics'): Promise<string> {
    const text = await plain.metrics();
    return format === 'text' ? text : Buffer.concat(toOpenMetrics([Buffer.from(text)])).toString();
  }

  it.each(['text', 'openmetrics'] as const)('keeps the bytes of a %s scrape that waits for its client while later scrapes render', async (format) => {
    const before = await expected(format);
    const slow = connect({ host: '127.0.0.1', port });
    await once(slow, 'connect');
    const accept = format === 'text' ? '' : `Accept: ${OPENMETRICS}\r\n`;
    slow.write(`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n${accept}Accept-Encoding: identity\r\nConnection: close\r\n\r\n`);
    // Reads one buffer's worth and no more: the kernel's buffers fill, the rest waits in the agent.
    await once(slow, 'readable');
    const slowResponse = responses.at(-1)!;
    expect(slowResponse.writableFinished).toBe(false);
    expect(slowResponse.writableLength).toBeGreaterThan(Buffer.byteLength(before) / 2);

    observe();
    const after = await expected(format);
    expect(after).not.toBe(before);
    // Past the reuse window: the next scrapes of this variant render again.
    await sleep(RENDER_REUSE_MS + 20);
    const headers = { ...(format === 'openmetrics' ? { accept: OPENMETRICS } : {}) };
    const [identity, gzip, head] = await Promise.all([
      get({ ...headers, 'accept-encoding': 'identity' }),
      get({ ...headers, 'accept-encoding': 'gzip' }),
      get({ ...headers, 'accept-encoding': 'identity' }, 'HEAD'),
    ]);
    expect(identity.body.toString()).toBe(after);
    expect(gunzipSync(gzip.body).toString()).toBe(after);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(after));
    expect(slowResponse.writableFinished).toBe(false);

    const chunks: Buffer[] = [];
    slow.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(slow, 'end');
    const raw = Buffer.concat(chunks);
    const headerEnd = raw.indexOf('\r\n\r\n');
    expect(raw.subarray(0, headerEnd).toString()).toContain(`Content-Length: ${Buffer.byteLength(before)}`);
    const body = raw.subarray(headerEnd + 4).toString();
    expect(body.length).toBe(before.length);
    expect(body === before).toBe(true);
  });

  function get(headers: Record<string, string>, method = 'GET'): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/metrics', method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
  }
});
