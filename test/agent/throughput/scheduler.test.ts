// The throughput scheduler with real node-cron timing (6-field, every-second schedules) against
// loopback servers that count concurrent tests. Each case takes a few seconds of wall time.
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../agent/config/load.js';
import { throughputModuleSchema } from '../../../agent/config/schema.js';
import { ThroughputMetrics } from '../../../agent/throughput/metrics.js';
import { createThroughputScheduler, ThroughputScheduler, type ThroughputPlan } from '../../../agent/throughput/scheduler.js';
import { waitFor } from '../../support/linkmon-process.js';
import { listenOnLoopback } from '../../support/ports.js';

const silent = pino({ level: 'silent' });
const LABELS = { target: 'dc', kind: 'throughput' };

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const sample = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return sample?.value;
}

/** A download endpoint that trickles data for `seconds` and records how many tests run at once. */
class CountingServer {
  active = 0;
  maxActive = 0;
  requests = 0;
  closedEarly = 0;
  readonly server: Server;
  constructor(private readonly behaviour: (n: number, req: IncomingMessage, res: ServerResponse) => boolean = () => false) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<string> {
    return `http://127.0.0.1:${await listenOnLoopback(this.server)}/`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests += 1;
    if (this.behaviour(this.requests, req, res)) return;
    const seconds = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('seconds') ?? '1');
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    const chunk = Buffer.alloc(16 * 1024);
    const ticker = setInterval(() => res.write(chunk), 20);
    const finish = setTimeout(() => res.end(), seconds * 1000);
    res.on('close', () => {
      clearInterval(ticker);
      clearTimeout(finish);
      if (!res.writableFinished) this.closedEarly += 1;
      this.active -= 1;
    });
  }
}

function plan(url: string, fields: Record<string, unknown>): ThroughputPlan {
  const module = throughputModuleSchema.parse({ kind: 'throughput', schedule: '* * * * * *', spread: '0s', directions: ['download'], warmup: '0s', ...fields });
  return { target: { name: 'dc', module: 'tp', url, labels: {} }, module, labels: LABELS, offsetSeconds: 0 };
}

describe('throughput scheduler (node-cron)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('skips and counts a tick while the previous test still runs: never two tests at once', async () => {
    const server = new CountingServer();
    const url = await server.listen();
    cleanups.push(() => server.close());
    const registry = new Registry();
    const metrics = ThroughputMetrics.on(registry, ['target', 'kind']);
    metrics.syncTargets(new Map([['dc', LABELS]]));
    // Every second, a test of 2.5 s: at least every other tick falls inside a running test.
    const scheduler = new ThroughputScheduler([plan(url, { duration: '2500ms' })], { metrics, log: silent });
    cleanups.push(() => scheduler.stop());
    scheduler.start();

    const series = { ...LABELS, direction: 'dc_to_site' };
    await waitFor('two completed tests and overlap skips', async () => {
      const tests = (await metricValue(registry, 'linkmon_throughput_tests_total', series)) ?? 0;
      const overlaps = (await metricValue(registry, 'linkmon_throughput_skipped_total', { ...series, reason: 'overlap' })) ?? 0;
      return tests >= 2 && overlaps >= 2 ? true : undefined;
    }, 20_000);
    expect(server.maxActive).toBe(1);
    expect(await metricValue(registry, 'linkmon_throughput_test_failures_total', { ...series, reason: 'timeout' })).toBe(0);
    expect(await metricValue(registry, 'linkmon_throughput_bytes_per_second', series)).toBeGreaterThan(0);
    expect(await metricValue(registry, 'linkmon_throughput_test_bytes_total', series)).toBeGreaterThan(0);
  });

  it('starts a tick the event loop reached late instead of dropping it (node-cron drops a tick over 1 s late by default)', async () => {
    const server = new CountingServer();
    const url = await server.listen();
    cleanups.push(() => server.close());
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const metrics = ThroughputMetrics.on(new Registry(), ['target', 'kind']);
    const scheduler = new ThroughputScheduler([plan(url, { schedule: '*/4 * * * * *', duration: '300ms' })], { metrics, log });
    cleanups.push(() => scheduler.stop());
    const tick = Math.ceil((Date.now() + 1500) / 4000) * 4000;
    scheduler.start();
    await sleep(tick - 200 - Date.now());
    // The loop is held from just before the tick until ~2.3 s after it, as a loaded box can.
    const until = performance.now() + 2500;
    while (performance.now() < until);
    await waitFor('the late tick to run its test', () => (server.requests >= 1 ? true : undefined), 5_000);
    expect(warnings.filter((line) => line.includes('tick missed'))).toEqual([]);
  });

  it('aborts a running test on stop() and starts no more', async () => {
    const server = new CountingServer();
    const url = await server.listen();
    cleanups.push(() => server.close());
    const metrics = ThroughputMetrics.on(new Registry(), ['target', 'kind']);
    const scheduler = new ThroughputScheduler([plan(url, { duration: '30s', max_duration: '60s' })], { metrics, log: silent });
    scheduler.start();
    await waitFor('a test in progress', () => (server.active === 1 ? true : undefined), 5_000);
    await scheduler.stop();
    await waitFor('the server to see the connection closed', () => (server.active === 0 ? true : undefined), 5_000);
    expect(server.closedEarly).toBe(1);
    const requestsAtStop = server.requests;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.requests).toBe(requestsAtStop);
  });

  it('records each failure under its reason, a 429 as busy, and keeps running', async () => {
    const megabyte = Buffer.alloc(1 << 20);
    // Request 1: reset mid-stream; 2: status 500; 3: busy; then normal short downloads.
    const server = new CountingServer((n, req, res) => {
      if (n === 1) {
        res.writeHead(200, { 'Content-Length': String(100 << 20) });
        res.write(megabyte, () => req.socket.resetAndDestroy());
        return true;
      }
      if (n === 2) {
        res.writeHead(500).end();
        return true;
      }
      if (n === 3) {
        res.writeHead(429, { 'Retry-After': '30' }).end();
        return true;
      }
      return false;
    });
    const url = await server.listen();
    cleanups.push(() => server.close());
    const registry = new Registry();
    const metrics = ThroughputMetrics.on(registry, ['target', 'kind']);
    metrics.syncTargets(new Map([['dc', LABELS]]));
    const scheduler = new ThroughputScheduler([plan(url, { duration: '300ms', busy_retries: 0 })], { metrics, log: silent });
    cleanups.push(() => scheduler.stop());
    scheduler.start();

    const series = { ...LABELS, direction: 'dc_to_site' };
    await waitFor('a success after the failures', async () => ((await metricValue(registry, 'linkmon_throughput_last_test_timestamp_seconds', series)) ?? 0) > 0 ? true : undefined, 15_000);
    expect(await metricValue(registry, 'linkmon_throughput_test_failures_total', { ...series, reason: 'reset' })).toBe(1);
    expect(await metricValue(registry, 'linkmon_throughput_test_failures_total', { ...series, reason: 'http_status' })).toBe(1);
    expect(await metricValue(registry, 'linkmon_throughput_skipped_total', { ...series, reason: 'busy' })).toBe(1);
    // The busy answer is a skip, not a test: reset + 500 + the success.
    expect(await metricValue(registry, 'linkmon_throughput_tests_total', series)).toBe(3);
  });

  it('reports each target for the status page (pending, then the last result and the next run) and advises on the warm-up only when one is configured', async () => {
    const server = new CountingServer();
    const url = await server.listen();
    cleanups.push(() => server.close());
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const metrics = ThroughputMetrics.on(new Registry(), ['target', 'kind']);
    // No warm-up: nothing to advise. A 1 s warm-up longer than the 10 kB transfer: the rate includes slow start.
    const noWarmup = plan(url, { duration: '200ms' });
    const shortTransfer = { ...plan(url, { bytes: '10kB', warmup: '1s' }), target: { name: 'short', module: 'tiny', url, labels: { link: 'hsl' } } };
    const scheduler = new ThroughputScheduler([noWarmup, shortTransfer], { metrics, log });
    expect(scheduler.targetStatus()).toEqual([
      expect.objectContaining({ target: 'dc', kind: 'throughput', state: 'pending', lastResult: 'pending' }),
      expect.objectContaining({ target: 'short', address: url, labels: { link: 'hsl' }, state: 'pending' }),
    ]);
    cleanups.push(() => scheduler.stop());
    scheduler.start();
    await waitFor('both targets measured', () => (scheduler.targetStatus().every((s) => s.state === 'ok') ? true : undefined), 10_000);
    const [dc, short] = scheduler.targetStatus();
    expect(dc!.lastResult).toMatch(/^download \d+(\.\d+)? Mbit\/s$/);
    expect(dc!.lastSuccessAt).toBeInstanceOf(Date);
    expect(dc!.nextRunAt!.getTime()).toBeGreaterThan(Date.now() - 1000);
    expect(short!.state).toBe('ok');
    const measured = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('throughput measured'));
    expect(measured.find((l) => l.target === 'dc')?.msg).toBe('throughput measured');
    expect(measured.find((l) => l.target === 'short')?.msg).toBe(
      'throughput measured, but a stream ended within the 1s warm-up: the rate includes TCP slow start (raise bytes or duration of module "tiny")',
    );
  });
});

describe('throughput component factory', () => {
  const config = (targets: string) =>
    parseConfigText(
      [
        'site: { id: bcu_ne, name: North East BCU }',
        'modules:',
        '  hourly: { kind: throughput, schedule: "0 * * * *", directions: [download] }',
        '  tcp: { kind: tcp, port: 9482 }',
        'targets:',
        targets,
      ].join('\n'),
      'inline.yaml',
    );

  it('makes every series of every throughput target exist at zero, and a reload keeps counters of targets that stay', async () => {
    const registry = new Registry();
    const first = createThroughputScheduler({
      config: config('  - { name: dc, module: hourly, url: "http://198.18.100.2:9480/", labels: { link: hsl } }\n  - { name: old, module: hourly, url: "http://198.18.100.3:9480/" }'),
      registry,
      log: silent,
    });
    expect(first).toBeDefined();
    const dc = { target: 'dc', kind: 'throughput', link: 'hsl' };
    for (const direction of ['dc_to_site', 'site_to_dc']) {
      expect(await metricValue(registry, 'linkmon_throughput_tests_total', { ...dc, direction })).toBe(0);
      expect(await metricValue(registry, 'linkmon_throughput_test_bytes_total', { ...dc, direction })).toBe(0);
      expect(await metricValue(registry, 'linkmon_throughput_skipped_total', { ...dc, direction, reason: 'overlap' })).toBe(0);
    }
    // No rate until one has been measured: a 0 would read as a dead link.
    expect(await metricValue(registry, 'linkmon_throughput_bytes_per_second', dc)).toBeUndefined();
    ThroughputMetrics.existing(registry)?.bytesCounter(dc, 'download')(1234);

    const second = createThroughputScheduler({ config: config('  - { name: dc, module: hourly, url: "http://198.18.100.2:9480/", labels: { link: hsl } }'), registry, log: silent });
    expect(second).toBeDefined();
    expect(await metricValue(registry, 'linkmon_throughput_test_bytes_total', { ...dc, direction: 'dc_to_site' })).toBe(1234);
    expect(await metricValue(registry, 'linkmon_throughput_tests_total', { target: 'old' })).toBeUndefined();

    const none = createThroughputScheduler({ config: config('  - { name: gw, module: tcp, host: 198.18.100.2 }'), registry, log: silent });
    expect(none).toBeUndefined();
    expect(await metricValue(registry, 'linkmon_throughput_tests_total', { target: 'dc' })).toBeUndefined();
  });
});
