// N concurrent keep-alive scrapers of one /metrics URL, each asking again as soon as it has read
// the whole answer, for a fixed time; prints one JSON line: scrapes by status, latency quantiles of
// the 200s (ms), bytes. Usage (inside a namespace): node scrape-storm.js URL CONNECTIONS SECONDS
import { Agent, request } from 'node:http';

const [url = 'http://127.0.0.1:9470/metrics', connectionsText = '100', secondsText = '60'] = process.argv.slice(2);
const connections = Number(connectionsText);
const endAt = performance.now() + Number(secondsText) * 1000;
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const byStatus: Record<string, number> = {};
const okMs: number[] = [];
let bytes = 0;

function scrape(): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(url, { agent }, (res) => {
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        const status = String(res.statusCode);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (res.statusCode === 200) okMs.push(performance.now() - started);
        resolve();
      });
    });
    req.on('error', () => {
      byStatus.error = (byStatus.error ?? 0) + 1;
      // A refused or reset connection: wait a little rather than spin.
      setTimeout(resolve, 10);
    });
    req.end();
  });
}

async function scraper(): Promise<void> {
  while (performance.now() < endAt) await scrape();
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

await Promise.all(Array.from({ length: connections }, scraper));
agent.destroy();
const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
process.stdout.write(`${JSON.stringify({ connections, seconds: Number(secondsText), scrapes: total, byStatus, bytes, p50Ms: quantile(okMs, 0.5), p99Ms: quantile(okMs, 0.99), maxMs: okMs.reduce((a, b) => Math.max(a, b), 0) })}\n`);
