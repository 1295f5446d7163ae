import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { exporterHandler } from '../../../agent/http/handler.js';
import { RENDER_REUSE_MS, RenderReuse, ScrapeLimit } from '../../../agent/http/scrape-load.js';
import { listenOnLoopback } from '../../support/ports.js';

describe('render reuse', () => {
  it('renders a registry at most once per RENDER_REUSE_MS, whatever the number of scrapes', async () => {
    let now = 0;
    let renders = 0;
    const reuse = new RenderReuse(RENDER_REUSE_MS, () => now);
    const registry = {};
    const render = async () => [Buffer.from(`render ${++renders}`)];
    const first = await Promise.all([reuse.body(registry, 'text', render), reuse.body(registry, 'text', render)]);
    now = RENDER_REUSE_MS - 1;
    const stillFirst = await reuse.body(registry, 'text', render);
    now = RENDER_REUSE_MS;
    const second = await reuse.body(registry, 'text', render);
    expect([...first, stillFirst, second].map(String)).toEqual(['render 1', 'render 1', 'render 1', 'render 2']);
  });

  it('keeps registries (a reload) and variants (content types) apart, and never serves a failed rendering again', async () => {
    const reuse = new RenderReuse(RENDER_REUSE_MS, () => 0);
    const [a, b] = [{}, {}];
    expect(String(await reuse.body(a, 'text', async () => [Buffer.from('a')]))).toBe('a');
    expect(String(await reuse.body(b, 'text', async () => [Buffer.from('b')]))).toBe('b');
    expect(String(await reuse.body(a, 'openmetrics', async () => [Buffer.from('a-om')]))).toBe('a-om');
    await expect(reuse.body(b, 'broken', async () => Promise.reject(new Error('collect failed')))).rejects.toThrow('collect failed');
    expect(String(await reuse.body(b, 'broken', async () => [Buffer.from('fixed')]))).toBe('fixed');
  });
});

describe('render reuse: when a rendering is given back', () => {
  const holder = () => new EventEmitter();

  it('only once it cannot be served again and every response sending it has closed, and once', async () => {
    let now = 0;
    const disposed: string[] = [];
    const reuse = new RenderReuse<string>(RENDER_REUSE_MS, () => now, (body) => disposed.push(body));
    const registry = {};
    const [slow, quick] = [holder(), holder()];
    await reuse.body(registry, 'text', async () => 'first', slow);
    await reuse.body(registry, 'text', async () => 'not rendered', quick);
    quick.emit('close');
    now = RENDER_REUSE_MS;
    // The cache lets go of 'first' here; the slow response still sends it.
    const next = holder();
    expect(await reuse.body(registry, 'text', async () => 'second', next)).toBe('second');
    expect(disposed).toEqual([]);
    slow.emit('close');
    slow.emit('close');
    expect(disposed).toEqual(['first']);
    next.emit('close');
    now = 2 * RENDER_REUSE_MS;
    // Another variant's request lets go of every expired one.
    await reuse.body(registry, 'openmetrics', async () => 'third');
    expect(disposed).toEqual(['first', 'second']);
  });

  it('when the rendering finishes after all its responses have gone, and never for a failed one', async () => {
    let now = 0;
    const disposed: string[] = [];
    const reuse = new RenderReuse<string>(RENDER_REUSE_MS, () => now, (body) => disposed.push(body));
    const registry = {};
    let finish: (body: string) => void = () => {};
    const gone = holder();
    const pending = reuse.body(registry, 'text', () => new Promise<string>((resolve) => (finish = resolve)), gone);
    gone.emit('close');
    now = RENDER_REUSE_MS;
    await reuse.body(registry, 'other', async () => 'other');
    expect(disposed).toEqual([]);
    finish('late');
    await pending;
    expect(disposed).toEqual(['late']);
    const failing = holder();
    await expect(reuse.body(registry, 'broken', async () => Promise.reject(new Error('collect failed')), failing)).rejects.toThrow('collect failed');
    failing.emit('close');
    now = 3 * RENDER_REUSE_MS;
    await reuse.body(registry, 'other', async () => 'again');
    expect(disposed).toEqual(['late', 'other']);
  });
});

describe('scrape limit', () => {
  const response = () => new EventEmitter() as unknown as ServerResponse;

  it('admits `limit` scrapes at once and the next one when a response closes', () => {
    const limit = new ScrapeLimit(2);
    const [a, b, c] = [response(), response(), response()];
    expect([limit.admit(a), limit.admit(b), limit.admit(c)]).toEqual([true, true, false]);
    a.emit('close');
    expect(limit.admit(c)).toBe(true);
    expect(limit.inFlight).toBe(2);
  });

  it('0 means no limit', () => {
    const limit = new ScrapeLimit(0);
    expect(Array.from({ length: 100 }, () => limit.admit(response())).every(Boolean)).toBe(true);
  });

  it('answers 503 with Retry-After beyond the limit, and serves again once a scrape is done', async () => {
    const registry = new Registry();
    new Gauge({ name: 'x', help: 'x', registers: [registry] }).set(1);
    const limit = new ScrapeLimit(1);
    const server = createServer(exporterHandler({ registry: () => registry, ready: () => true, statusPage: () => undefined, onError: () => {} }, { limit }));
    const port = await listenOnLoopback(server);
    try {
      const admitted = new EventEmitter() as unknown as ServerResponse;
      limit.admit(admitted); // one scrape still being written
      const busy = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(await busy.text()).toBe('limit of 1 concurrent scrapes reached, try again later\n');
      admitted.emit('close');
      const served = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(served.status).toBe(200);
      expect(await served.text()).toContain('x 1');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
