// The agent's /metrics endpoint with a registry of a chosen size, for bench/scrape-latency.ts:
// AgentMetrics (ICMP targets, every bucket populated) plus prom-client's default process metrics,
// served by agent/http/handler.ts, with 50 observations/s arriving between scrapes as in production.
// With "registry":"fast" the registry is lib/metrics/fast-registry.ts's FastRegistry (same output, faster
// histogram formatting, what the agent uses) instead of prom-client's own Registry.
// Usage: node dist/bench/scrape-latency-server.js '{"series": 10000, "registry": "prom-client"}'; announces
// {"event":"listening","url":…,"series":…,"targets":…,"serialiseMs":{…}} on stderr.
import pino from 'pino';
import { Registry } from 'prom-client';
import { FAILURE_REASONS } from '../agent/probes/types.js';
import { sampleQuantile } from '../test/support/stats/sample-quantile.js';
import { AgentMetrics, LATENCY_BUCKETS } from '../agent/metrics.js';
import { FastRegistry } from '../lib/metrics/fast-registry.js';
import { registerProcessMetrics } from '../lib/metrics/process-metrics.js';
import { exporterHandler } from '../agent/http/handler.js';
import { startWebServer } from '../web/server.js';

const { series: wantedSeries, registry: kind } = JSON.parse(process.argv[2] ?? '{"series":1000}') as { series: number; registry?: 'prom-client' | 'fast' };
const registry = kind === 'fast' ? new FastRegistry() : new Registry();
registry.setDefaultLabels({ site: 'esb' });
registerProcessMetrics(registry);
const metrics = new AgentMetrics(registry, ['link']);
const countSeries = async () => (await registry.metrics()).split('\n').filter((line) => line && !line.startsWith('#')).length;

// attempts, failures by reason, success, histogram (buckets, +Inf, _sum, _count), jitter, last success, cycle duration
const perTarget = 1 + FAILURE_REASONS.length + 1 + (LATENCY_BUCKETS.length + 3) + 1 + 1 + 1;
const targets = Math.max(1, Math.ceil((wantedSeries - (await countSeries())) / perTarget));
const labels = Array.from({ length: targets }, (_, i) => ({ target: `dc${i}`, kind: 'icmp', link: i % 2 ? 'hsl' : 'wan' }));
const randomRtt = () => 0.0001 * 1.06 ** (Math.random() * 160); // spread over the whole bucket range
for (const l of labels) {
  metrics.addTarget(l);
  for (let k = 0; k < 400; k++) metrics.recordAttempt(l, { ok: true, durationSeconds: randomRtt() }, 0.0002, Date.now() / 1000);
  metrics.recordAttempt(l, { ok: false, reason: 'timeout', detail: '' }, undefined, Date.now() / 1000);
}
const series = await countSeries();

// Serialisation alone, in process (no HTTP), for the breakdown.
const serialiseMs: number[] = [];
for (let i = 0; i < 100; i++) {
  const started = performance.now();
  await registry.metrics();
  serialiseMs.push(performance.now() - started);
}

let next = 0;
setInterval(() => {
  const l = labels[next++ % labels.length]!;
  metrics.recordAttempt(l, { ok: true, durationSeconds: randomRtt() }, 0.0002, Date.now() / 1000);
}, 20);

const log = pino({ level: 'warn' }, pino.destination(2));
const server = await startWebServer({
  listen: { address: '127.0.0.1', port: 0 },
  handler: exporterHandler({ registry: () => registry, ready: () => true, statusPage: () => undefined, onError: () => {} }),
  log,
});
process.stderr.write(
  `${JSON.stringify({
    event: 'listening',
    url: server.url,
    series,
    targets,
    serialiseMs: { p50: sampleQuantile(serialiseMs, 0.5), p99: sampleQuantile(serialiseMs, 0.99) },
  })}\n`,
);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
