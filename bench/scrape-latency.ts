// /metrics latency of the agent's exporter at 1,000 and 10,000 series: p50 and p99 over 1,000
// sequential scrapes each (after 20 warm-up scrapes), from this process to a separate server
// process (bench/scrape-latency-server.ts, compiled, plain node), over keep-alive HTTP as
// Prometheus scrapes. Goal (issues #2, #15): p99 <= 10 ms at 10,000 series, with compression on.
// With lib/metrics/fast-registry.ts (what the agent uses) in three variants of web/exposition.ts:
// plain text, text with gzip, and what Prometheus asks for (OpenMetrics with gzip); and prom-client's
// own Registry with plain text for reference. Latency is until the last byte of the (compressed)
// body arrives; body size is what went over the wire.
// Usage: npx tsx bench/scrape-latency.ts [--scrapes 1000] [--server-flags="node flags for the server, e.g. --no-opt"] [--name scrape-latency]
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { sampleQuantile } from '../test/support/stats/sample-quantile.js';
import { killOnProcessExit } from '../test/support/exit-cleanup.js';
import { compiledPath, compileForBench, machineNote, REPO_ROOT, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { scrapes: { type: 'string', default: '1000' }, 'server-flags': { type: 'string', default: '' }, name: { type: 'string', default: 'scrape-latency' } } });
const scrapes = Number(values.scrapes);
const serverFlags = values['server-flags'].split(/\s+/).filter(Boolean);
const SERVER = 'bench/scrape-latency-server.ts';

interface Listening {
  url: string;
  series: number;
  targets: number;
  serialiseMs: { p50: number; p99: number };
}

type RegistryKind = 'prom-client' | 'fast';

/** Request headers of each variant; `prometheus` is what Prometheus 2.42 sends on every scrape. */
const VARIANTS = {
  text: {},
  'text+gzip': { 'Accept-Encoding': 'gzip' },
  'prometheus (openmetrics+gzip)': {
    Accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    'Accept-Encoding': 'gzip',
  },
} satisfies Record<string, Record<string, string>>;
type Variant = keyof typeof VARIANTS;
const RUNS: Array<{ registry: RegistryKind; variants: Variant[] }> = [
  { registry: 'prom-client', variants: ['text'] },
  { registry: 'fast', variants: ['text', 'text+gzip', 'prometheus (openmetrics+gzip)'] },
];

async function startServer(series: number, registry: RegistryKind) {
  const child = spawn(process.execPath, [...serverFlags, compiledPath(SERVER), JSON.stringify({ series, registry })], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  killOnProcessExit(child);
  const listening = await new Promise<Listening>((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const line = stderr.split('\n').find((l) => l.startsWith('{"event":"listening"'));
      if (line) resolve(JSON.parse(line) as Listening);
    });
    child.once('exit', (code) => reject(new Error(`scrape server exited ${code}: ${stderr}`)));
  });
  const stop = () => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : (child.once('exit', resolve), child.kill('SIGTERM'))));
  return { listening, stop };
}

function scrape(url: string, agent: Agent, headers: Record<string, string>): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${url}/metrics`, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

console.log('compiling the scrape server into dist/ …');
await compileForBench([SERVER]);
const results: Array<{
  registry: RegistryKind;
  variant: Variant;
  requestedSeries: number;
  series: number;
  targets: number;
  bodyBytes: number;
  scrapes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  registryMetricsInProcessMs: { p50: number; p99: number };
}> = [];
for (const { registry, variants } of RUNS) {
  for (const series of [1000, 10000]) {
    const server = await startServer(series, registry);
    try {
      // The variants take turns scrape by scrape, so a busy moment of the machine hits them alike.
      const { url } = server.listening;
      const clients = variants.map((variant) => ({ variant, headers: VARIANTS[variant], agent: new Agent({ keepAlive: true, maxSockets: 1 }), latencies: [] as number[], bytes: 0 }));
      for (const client of clients) for (let i = 0; i < 20; i++) await scrape(url, client.agent, client.headers);
      for (let i = 0; i < scrapes; i++) {
        for (const client of clients) {
          const one = await scrape(url, client.agent, client.headers);
          client.latencies.push(one.ms);
          client.bytes = one.bytes;
        }
      }
      for (const { variant, agent, latencies, bytes } of clients) {
        agent.destroy();
        const row = {
          registry,
          variant,
          requestedSeries: series,
          series: server.listening.series,
          targets: server.listening.targets,
          bodyBytes: bytes,
          scrapes,
          p50Ms: sampleQuantile(latencies, 0.5),
          p99Ms: sampleQuantile(latencies, 0.99),
          maxMs: Math.max(...latencies),
          registryMetricsInProcessMs: server.listening.serialiseMs,
        };
        results.push(row);
        console.log(`${registry} ${variant}: ${row.series} series (${row.targets} ICMP targets, ${(bytes / 1024).toFixed(0)} KiB): p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, max ${row.maxMs.toFixed(2)} ms`);
      }
    } finally {
      await server.stop();
    }
  }
}

const at10k = (registry: RegistryKind, variant: Variant) => results.find((r) => r.registry === registry && r.variant === variant && r.requestedSeries === 10000)!;
const goal = (row: { p99Ms: number }) => (row.p99Ms <= 10 ? 'met' : 'missed');
const markdown = [
  '# /metrics scrape latency',
  '',
  `${scrapes} sequential keep-alive scrapes per size and variant (after 20 warm-up; the variants take turns scrape by scrape) of the agent exporter (agent/http/handler.ts + web/exposition.ts + AgentMetrics + default process metrics, compiled, separate process), with 50 observations/s arriving meanwhile. Latency until the last byte of the body; body KiB as sent (compressed when gzip).`,
  `Server: node ${serverFlags.join(' ') || 'without extra flags'}. Command: \`npx tsx bench/scrape-latency.ts --scrapes ${scrapes}${serverFlags.length ? ` --server-flags="${serverFlags.join(' ')}"` : ''}\`. Machine: ${machineNote()}.`,
  '',
  '| registry | variant | series | ICMP targets | body KiB | p50 ms | p99 ms | max ms | registry.metrics() p50 / p99 ms |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.registry} | ${r.variant} | ${r.series} | ${r.targets} | ${(r.bodyBytes / 1024).toFixed(1)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(2)} | ${r.registryMetricsInProcessMs.p50.toFixed(2)} / ${r.registryMetricsInProcessMs.p99.toFixed(2)} |`),
  '',
  `Goal p99 <= 10 ms at 10,000 series: FastRegistry text ${goal(at10k('fast', 'text'))}, text+gzip ${goal(at10k('fast', 'text+gzip'))}, as Prometheus scrapes (OpenMetrics+gzip) ${goal(at10k('fast', 'prometheus (openmetrics+gzip)'))}; prom-client Registry text ${goal(at10k('prom-client', 'text'))}.`,
  '',
].join('\n');
console.log(`\n${markdown}`);
const goalMet = Object.fromEntries(RUNS.flatMap(({ registry, variants }) => variants.map((variant) => [`${registry} ${variant}`, at10k(registry, variant).p99Ms <= 10])));
writeResults(values.name, { machine: machineNote(), serverFlags, goalMet, results }, markdown);
