// The Node floor of an idle exporter: node:http serving prom-client's process and Node.js metrics,
// registered as the agent registers them (lib/metrics/process-metrics.ts), on the agent's own
// registry, and nothing else: no config, no scheduler, no probes, no logging. What any Node process
// exporting these metrics pays per scrape, next to the idle agent in bench/snmp-poll.ts. Gzipped
// when the scraper asks, as the agent does (Prometheus and fetch() ask).
// Usage: node dist/bench/lib/exporter-floor.js '{"port":9472}'
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { FastRegistry } from '../../lib/metrics/fast-registry.js';
import { registerProcessMetrics } from '../../lib/metrics/process-metrics.js';

const { port } = JSON.parse(process.argv[2] ?? '{}') as { port: number };
const registry = new FastRegistry();
registerProcessMetrics(registry);
createServer((req, res) => {
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  void registry.metrics().then((text) => {
    res.writeHead(200, { 'content-type': registry.contentType, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(gzip ? gzipSync(text) : text);
  });
}).listen(port, '127.0.0.1');
