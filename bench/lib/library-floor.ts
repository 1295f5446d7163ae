// The libraries an ICMP-only agent must load, each used once the way the agent uses it, and nothing
// of ours: pino writes a log line (to /dev/null), zod parses a small config, yaml reads a document,
// prom-client registers its process metrics and renders them, node:http listens. Run by
// bench/node-floor.ts as npm ships the packages (tsc into dist/) and bundled as the build ships them
// (scripts/bundle.mjs --entry), to read the RSS that is not ours. Prints "used" once done.
import { createServer } from 'node:http';
import { pino } from 'pino';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { parseDocument } from 'yaml';
import { z } from 'zod';

const config = z
  .object({ site: z.object({ id: z.string(), name: z.string() }), targets: z.array(z.object({ name: z.string(), host: z.string(), interval: z.string().optional() })) })
  .parse(parseDocument('site: { id: floor, name: Floor }\ntargets:\n  - { name: a, host: 198.18.0.1, interval: 1s }\n').toJS());
const log = pino({ level: 'info' }, pino.destination('/dev/null'));
log.info({ site: config.site.id, targets: config.targets.length }, 'started');
const registry = new Registry();
collectDefaultMetrics({ register: registry });
new Counter({ name: 'floor_probes_total', help: 'probes', labelNames: ['target'], registers: [registry] }).inc({ target: 'a' });
new Histogram({ name: 'floor_probe_duration_seconds', help: 'duration', labelNames: ['target'], registers: [registry] }).observe({ target: 'a' }, 0.001);
await registry.metrics();
createServer().listen(0, '127.0.0.1');
process.stdout.write('used\n');
