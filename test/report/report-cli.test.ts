// `linkmon report` on bad input: each a one-line error naming the cause, with the exit code
// docs/capacity.md gives (2 usage, 1 Prometheus unreachable, too slow or not Prometheus, 3 no data or
// unknown link). Against a real Prometheus holding one month of recorded windows, a closed port, a
// server that never answers and one that is not Prometheus; most runs in-process (runReport, what the
// CLI calls), two through the real command. Needs the Debian package prometheus. No root; loopback only.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capacityNames } from '../../alerts/src/capacity-promql.js';
import { alertsConfig } from '../../alerts/src/config.js';
import { runReport } from '../../report/main.js';
import { backfill, BACKFILL_RETENTION, type Backfill } from '../support/capacity-backfill.js';
import type { Series } from '../support/capacity-history.js';
import { REPO_ROOT } from '../support/linkmon-process.js';
import { freeLoopbackPort } from '../support/ports.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';

const NOW = Date.parse('2026-12-03T12:00:00Z') / 1000;
const SEPTEMBER = Date.parse('2026-09-01T00:00:00Z') / 1000;
const names = capacityNames(alertsConfig);

/** September 2026 of link hsl as the window rules record it (each window 6 minutes after it starts), at 40%. */
function september(): Series[] {
  const times: number[] = [];
  for (let start = SEPTEMBER; start < SEPTEMBER + 30 * 86400; start += 300) times.push(start + 360 + 17);
  const at = (name: string, labels: Record<string, string>, value: number): Series => ({ name, labels, times, values: times.map(() => value) });
  return [
    at(names.window, { link: 'hsl' }, 0.4),
    at(names.windowByDirection, { link: 'hsl', direction: 'in' }, 0.4),
    at(names.windowByDirection, { link: 'hsl', direction: 'out' }, 0.1),
    at('linkmon_link_capacity_bytes', { job: 'linkmon', instance: 'dc:9470', site: 'dc', link: 'hsl' }, 125e6),
  ];
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function report(argv: string[], tty = false): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runReport(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { isTTY: tty, write: (text: string) => (stderr += text) },
    now: () => NOW,
  });
  return { code, stdout, stderr };
}

/** The real command, from source. */
function linkmon(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'cli/linkmon.ts', ...args], { cwd: REPO_ROOT, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('linkmon report: every bad input is one line naming the cause, and its exit code', () => {
  let store: Backfill | undefined;
  let prometheus: PrometheusInstance | undefined;
  let silent: Server | undefined;
  let notPrometheus: HttpServer | undefined;
  const held: Socket[] = [];
  let closedPort = 0;
  let silentPort = 0;
  let notPrometheusPort = 0;

  beforeAll(async () => {
    store = await backfill(september(), [], SEPTEMBER, SEPTEMBER + 31 * 86400);
    prometheus = await startPrometheus({ storagePath: store.storagePath, extraArgs: [BACKFILL_RETENTION] });
    closedPort = await freeLoopbackPort();
    // Accepts connections and never answers: a Prometheus stuck on a heavy query.
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as { port: number }).port;
    notPrometheus = createHttpServer((_, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Grafana</html>'));
    await new Promise<void>((r) => notPrometheus!.listen(0, '127.0.0.1', () => r()));
    notPrometheusPort = (notPrometheus.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((r) => silent?.close(r));
    await new Promise((r) => notPrometheus?.close(r));
    await prometheus?.stop();
    store?.cleanup();
  });

  const oneLine = (run: Run) => {
    expect(run.stderr, 'exactly one line on stderr').toMatch(/^linkmon report: [^\n]+\n$/);
    return run.stderr.trim().slice('linkmon report: '.length);
  };

  it.each([
    [['--month', '2026-09'], '--prometheus URL is required: the Prometheus (or long-term store) to read'],
    [['--prometheus', 'prometheus:9090'], '--prometheus "prometheus:9090": expected an http:// or https:// URL, got prometheus:'],
    [['--prometheus', 'not a url'], '--prometheus "not a url": not a URL; expected e.g. http://prometheus:9090'],
    [['--prometheus', 'ftp://prometheus'], '--prometheus "ftp://prometheus": expected an http:// or https:// URL, got ftp:'],
    [['--prometheus', 'http://p:9090/?x=1'], '--prometheus "http://p:9090/?x=1": expected the API\'s base URL, without a query or fragment'],
    [['--prometheus', 'http://p', '--month', '2026-13'], '--month "2026-13": expected a month as YYYY-MM, e.g. 2026-10'],
    [['--prometheus', 'http://p', '--month', 'October'], '--month "October": expected a month as YYYY-MM, e.g. 2026-10'],
    [['--prometheus', 'http://p', '--month', '2026-12'], '--month 2026-12: the month has not ended yet; the last complete month is 2026-11'],
    [['--prometheus', 'http://p', '--months', '0'], '--months "0": expected a whole number of months from 1 to 36'],
    [['--prometheus', 'http://p', '--months', '1.5'], '--months "1.5": expected a whole number of months from 1 to 36'],
    [['--prometheus', 'http://p', '--format', 'pdf'], '--format "pdf": expected html, md, csv, json'],
    [['--prometheus', 'http://p', '--timeout', 'soon'], '--timeout "soon": expected a duration like 30s or 2m'],
    [['--prometheus', 'http://p', '--out', 'a.html', '--out-dir', 'reports'], '--out and --out-dir: give one of them'],
    [['--prometheus', 'http://p', '--colour'], "Unknown option '--colour'"],
    [['--prometheus', 'http://p', 'extra'], "Unexpected argument 'extra'. This command does not take positional arguments"],
  ])('usage %j: exit 2', async (argv, message) => {
    const run = await report(argv);
    expect(run.code).toBe(2);
    expect(oneLine(run)).toBe(message);
    expect(run.stdout).toBe('');
  });

  it('an unreachable Prometheus: exit 1, "connection refused"', async () => {
    const run = await report(['--prometheus', `http://127.0.0.1:${closedPort}`, '--month', '2026-09']);
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(`cannot reach Prometheus at http://127.0.0.1:${closedPort}: connection refused`);
  });

  it('a Prometheus that does not answer in time: exit 1, after --timeout', async () => {
    const started = Date.now();
    const run = await report(['--prometheus', `http://127.0.0.1:${silentPort}`, '--month', '2026-09', '--timeout', '500ms']);
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(`Prometheus at http://127.0.0.1:${silentPort} did not answer within 0.5s (raise --timeout, or check its load)`);
    // The deadline is the query's, not the socket's: well under undici's own 300 s.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a URL that is not a Prometheus API: exit 1', async () => {
    const run = await report(['--prometheus', `http://127.0.0.1:${notPrometheusPort}/grafana`, '--month', '2026-09']);
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(`http://127.0.0.1:${notPrometheusPort}/grafana is not a Prometheus query API: HTTP 404 from /grafana/api/v1/query without a Prometheus JSON answer`);
  });

  it('a month without data: exit 3', async () => {
    const run = await report(['--prometheus', prometheus!.url, '--month', '2026-08']);
    expect(run.code).toBe(3);
    expect(oneLine(run)).toBe(
      `no capacity data for 2026-08 at ${prometheus!.url}: no recorded windows (${names.window}) in that month; are the capacity rules (alerts/generated/capacity.yml) loaded?`,
    );
  });

  it('an unknown link: exit 3, naming the links there are', async () => {
    const run = await report(['--prometheus', prometheus!.url, '--month', '2026-09', '--link', 'wan']);
    expect(run.code).toBe(3);
    expect(oneLine(run)).toBe('unknown link "wan": the links with data in 2026-09 are hsl');
  });

  it('writes the report into --out-dir, with progress on a terminal only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkmon-report-out-'));
    try {
      const run = await report(['--prometheus', prometheus!.url, '--month', '2026-09', '--months', '2', '--format', 'md', '--out-dir', join(dir, 'reports')], true);
      expect(run.code, run.stderr).toBe(0);
      expect(readdirSync(join(dir, 'reports'))).toEqual(['linkmon-capacity-2026-09.md']);
      const md = readFileSync(join(dir, 'reports', 'linkmon-capacity-2026-09.md'), 'utf8');
      expect(md).toContain('| 2026-09 | 8640 | 0 |');
      expect(md).toContain('2026-08: no data: no window of the month counts');
      // One line rewritten in place (carriage return, erase line), cleared at the end.
      const clear = '\r\u001b[K';
      expect(run.stderr.startsWith(`${clear}linkmon report: 2026-08, query 1 of `)).toBe(true);
      expect(run.stderr.endsWith(clear)).toBe(true);
      const quiet = await report(['--prometheus', prometheus!.url, '--month', '2026-09', '--months', '1', '--format', 'json']);
      expect(quiet.stderr).toBe('');
      expect((JSON.parse(quiet.stdout) as { links: { link: string }[] }).links.map((l) => l.link)).toEqual(['hsl']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the real command: exit codes and one line on stderr', async () => {
    const unreachable = await linkmon(['report', '--prometheus', `http://127.0.0.1:${closedPort}`, '--month', '2026-09']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`linkmon report: cannot reach Prometheus at http://127.0.0.1:${closedPort}: connection refused\n`);
    const csv = await linkmon(['report', '--prometheus', prometheus!.url, '--month', '2026-09', '--months', '1', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe('link,month,figure,label,value');
    expect(csv.stdout).toContain('hsl,2026-09,p95,,0.4\n');
  });
});
