// The Node floor of an idle exporter: node:http serving prom-client's process and Node.js metrics,
// registered as the agent registers them (lib/metrics/process-metrics.ts), on the agent's own
// registry, rendered and sent as the agent's /metrics renders and sends them (web/exposition.ts:
// negotiated format and gzip, reused buffers), and nothing else: no config, no scheduler, no probes,
// no logging. What any Node process exporting these metrics pays per scrape, next to the idle agent
// in bench/snmp-poll.ts.
// Usage: node dist/bench/lib/exporter-floor.js '{"port":9472}'
import { createServer } from 'node:http';
import { FastRegistry } from '../../lib/metrics/fast-registry.js';
import { registerProcessMetrics } from '../../lib/metrics/process-metrics.js';
import { ExpositionRenderer, negotiateExposition, sendExposition } from '../../web/exposition.js';

const { port } = JSON.parse(process.argv[2] ?? '{}') as { port: number };
const registry = new FastRegistry();
registerProcessMetrics(registry);
const renderer = new ExpositionRenderer();
createServer((req, res) => {
  void renderer.render(registry, negotiateExposition(req.headers)).then((encoded) => {
    res.once('close', () => encoded.release());
    sendExposition(res, encoded);
  });
}).listen(port, '127.0.0.1');
