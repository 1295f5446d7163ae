// /metrics latency of the agent's exporter at 1,000 and 10,000 series: p50 and p99 over 1,000
// sequential scrapes each (after 20 warm-up scrapes), from this process to a separate server
// process (bench/scrape-latency-server.ts, compiled, plain node), over keep-alive HTTP as
// Prometheus scrapes. Goal (issue #2): p99 <= 10 ms at 10,000 series.
// Both with prom-client's Registry (what the agent uses today) and with lib/metrics/fast-registry.ts.
// Usage: npx tsx bench/scrape-latency.ts [--scrapes 1000]
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { sampleQuantile } from '../test/support/stats/sample-quantile.js';
import { killOnProcessExit } from '../test/support/exit-cleanup.js';
import { compiledPath, compileForBench, machineNote, REPO_ROOT, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { scrapes: { type: 'string', default: '1000' } } });
const scrapes = Number(values.scrapes);
const SERVER = 'bench/scrape-latency-server.ts';

interface Listening {
  url: string;
  series: number;
  targets: number;
  serialiseMs: { p50: number; p99: number };
}

type RegistryKind = 'prom-client' | 'fast';

async function startServer(series: number, registry: RegistryKind) {
  const child = spawn(process.execPath, [compiledPath(SERVER), JSON.stringify({ series, registry })], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
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

function scrape(url: string, agent: Agent): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${url}/metrics`, { agent }, (res) => {
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
const results = [];
for (const [registry, series] of (['prom-client', 'fast'] as const).flatMap((r) => [1000, 10000].map((n) => [r, n] as const))) {
  const server = await startServer(series, registry);
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { url } = server.listening;
    for (let i = 0; i < 20; i++) await scrape(url, agent);
    const latencies: number[] = [];
    let bytes = 0;
    for (let i = 0; i < scrapes; i++) {
      const one = await scrape(url, agent);
      latencies.push(one.ms);
      bytes = one.bytes;
    }
    agent.destroy();
    const row = {
      registry,
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
    console.log(`${registry}: ${row.series} series (${row.targets} ICMP targets, ${(bytes / 1024).toFixed(0)} KiB): p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, max ${row.maxMs.toFixed(2)} ms; registry.metrics() alone p50 ${row.registryMetricsInProcessMs.p50.toFixed(2)} ms`);
  } finally {
    await server.stop();
  }
}

const ten = results.find((r) => r.registry === 'prom-client' && r.requestedSeries === 10000)!;
const tenFast = results.find((r) => r.registry === 'fast' && r.requestedSeries === 10000)!;
const markdown = [
  '# /metrics scrape latency',
  '',
  `${scrapes} sequential keep-alive scrapes per size (after 20 warm-up) of the agent exporter (agent/http/handler.ts + AgentMetrics + default process metrics, compiled, separate process), with 50 observations/s arriving meanwhile.`,
  `Machine: ${machineNote()}.`,
  '',
  '| registry | series | ICMP targets | body KiB | p50 ms | p99 ms | max ms | registry.metrics() p50 / p99 ms |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.registry} | ${r.series} | ${r.targets} | ${(r.bodyBytes / 1024).toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(2)} | ${r.registryMetricsInProcessMs.p50.toFixed(2)} / ${r.registryMetricsInProcessMs.p99.toFixed(2)} |`),
  '',
  `Goal p99 <= 10 ms at 10,000 series: prom-client Registry ${ten.p99Ms <= 10 ? 'met' : 'missed'}, FastRegistry ${tenFast.p99Ms <= 10 ? 'met' : 'missed'}.`,
  '',
].join('\n');
console.log(`\n${markdown}`);
writeResults('scrape-latency', { machine: machineNote(), goalMet: { promClient: ten.p99Ms <= 10, fast: tenFast.p99Ms <= 10 }, results }, markdown);
