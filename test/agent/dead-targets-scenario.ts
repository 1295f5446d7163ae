// Issue #11's dead cases on the network lab, shared by the lab test (dead-targets-lab.root.test.ts,
// short window, assertions) and bench/probe-integrity.ts --mode dead (5 minutes, figures). Needs
// root and the Debian packages iproute2, nftables, dnsmasq-base (scripts/test-host-setup.sh).
//
// The dc namespace runs a far end (HTTP with a normal and an endless body, a TLS port that accepts
// and never answers) and dnsmasq; site 1's agent probes, all at once:
//   tcp-bh   tcp  1s/1s  dc address 2, dead (nftables drop on the dc's own input: SYNs unanswered)
//   http-bh  http 2s/2s  dc address 2, dead
//   tls      http 2s/1s  https to the silent TLS port: the handshake never completes
//   dns      tcp  1s/1s  by name through dnsmasq on dc address 4 (TTL 1 s), whose address dies
//   endless  http 2s/2s  an endless chunked body (body_size_limit 1 MiB)
// Everything but tls and endless answers for `healthySeconds`, then dc addresses 2 and 4 die.
// Two more agents (with only the endless target, and with only a normal-body target) give the
// endless body's CPU cost by difference, when asked for.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../lab/lab.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../support/exposition.js';
import { REPO_ROOT, waitFor } from '../support/linkmon-process.js';
import { processCpuSeconds } from './throughput/lab-harness.js';

const HTTP_PORT = 8080;
const TLS_PORT = 8443;
const DEAD_DC = 2;
const TLS_DC = 3;
const DNS_DC = 4;
const NAME = 'portal.caid.test';
/** How long after its start an `ip netns exec … ss` may read the socket table. */
const SS_SKEW_MS = 300;

export interface DeadTarget {
  name: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  /** The reason every attempt of the dead phase must fail with. */
  reason: string;
  /** Dies at the end of the healthy phase (the others are broken from the start). */
  dies: boolean;
}

export const DEAD_TARGETS: readonly DeadTarget[] = [
  { name: 'tcp-bh', intervalSeconds: 1, timeoutSeconds: 1, reason: 'timeout', dies: true },
  { name: 'http-bh', intervalSeconds: 2, timeoutSeconds: 2, reason: 'timeout', dies: true },
  { name: 'tls', intervalSeconds: 2, timeoutSeconds: 1, reason: 'timeout', dies: false },
  { name: 'dns', intervalSeconds: 1, timeoutSeconds: 1, reason: 'dns', dies: true },
  { name: 'endless', intervalSeconds: 2, timeoutSeconds: 2, reason: 'body_too_large', dies: false },
];

/** One failed attempt as the agent logged it (scheduler.ts, debug level). */
export interface FailedAttempt {
  target: string;
  reason: string;
  startedMs: number;
  elapsedMs: number;
}

export interface DeadTargetsFigures {
  /** Date.now() when dc addresses 2 and 4 died. */
  diedAtMs: number;
  deadSeconds: number;
  /** Failed attempts that started in the dead phase (dns: after its cached answer expired). */
  failures: FailedAttempt[];
  /** Attempts started and failures counted over the dead phase, per target (from /metrics). */
  counters: Record<string, { attempts: number; failures: number }>;
  /** Per dying target: ms from the death to the settling of its first failed attempt (when linkmon_probe_success went to 0). */
  successZeroAfterMs: Record<string, number>;
  /** Once a second: sockets in SYN-SENT and dead-target attempts in flight (from the log) at that moment. */
  synSent: Array<{ atMs: number; synSent: number; inFlight: number }>;
  /** Open file descriptors of the agent every `fdEverySeconds` in the dead phase. */
  fds: Array<{ atMs: number; count: number }>;
  sigterm: { exitCode: number | null; signal: NodeJS.Signals | null; ms: number };
  /** Garbage collections of 100 ms or more in the agent over the dead phase (a stall that would delay every timer). */
  slowGcs: number;
  endlessCpu?: { endlessCpuSeconds: number; normalCpuSeconds: number; addedCoreFraction: number };
  loadAverage: number[];
}

export interface DeadTargetsOptions {
  /** argv of `linkmon agent --config <file>` (tsx in tests, dist in the bench). */
  agentCommand: (configFile: string) => string[];
  healthySeconds: number;
  deadSeconds: number;
  fdEverySeconds: number;
  /** Also run the two CPU-comparison agents. */
  endlessCpu: boolean;
}

const FAR_END = `
const http = require('node:http'), net = require('node:net');
const chunk = Buffer.alloc(64 * 1024, 'x');
http.createServer((req, res) => {
  if (req.url !== '/endless') return res.end('ok');
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const pump = () => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump); };
  pump();
}).listen(${HTTP_PORT}, '0.0.0.0', () =>
  net.createServer(() => {}).listen(${TLS_PORT}, '0.0.0.0', () => console.log('ready')));
`;

function agentConfig(port: number, lab: Lab, targets: string[], level: string): string {
  return `site: { id: lab1, name: Lab site 1 }
listen: { address: 127.0.0.1, port: ${port} }
log: { level: ${level} }
modules:
  tcp: { kind: tcp, interval: 1s, timeout: 1s, port: ${HTTP_PORT} }
  web: { kind: http, interval: 2s, timeout: 2s }
  tls: { kind: http, interval: 2s, timeout: 1s, tls: { insecure_skip_verify: true } }
targets:
${targets.map((t) => `  - ${t}\n`).join('')}`.replaceAll('DC1', lab.dcAddress(1)).replaceAll('DC2', lab.dcAddress(DEAD_DC)).replaceAll('DC3', lab.dcAddress(TLS_DC));
}

const DEAD_AGENT_TARGETS = [
  '{ name: tcp-bh, module: tcp, host: DC2 }',
  `{ name: http-bh, module: web, url: "http://DC2:${HTTP_PORT}/ok" }`,
  `{ name: tls, module: tls, url: "https://DC3:${TLS_PORT}/" }`,
  `{ name: dns, module: tcp, host: ${NAME} }`,
  `{ name: endless, module: web, url: "http://DC1:${HTTP_PORT}/endless" }`,
];

interface Started {
  child: ChildProcess;
  output: () => string;
  scrape: () => Promise<ExpositionSample[]>;
}

export async function runDeadTargets(lab: Lab, options: DeadTargetsOptions): Promise<DeadTargetsFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-dead-'));
  chmodSync(dir, 0o755);
  const agents: Started[] = [];
  try {
    const farEnd = lab.spawn(lab.dc, [process.execPath, '-e', FAR_END], { stdio: ['ignore', 'pipe', 'inherit'] });
    let farEndOutput = '';
    farEnd.stdout!.on('data', (chunk: Buffer) => (farEndOutput += chunk.toString()));
    const hosts = join(dir, 'dns-hosts');
    writeFileSync(hosts, `${lab.dcAddress(1)} ${NAME}\n`, { mode: 0o644 });
    const dnsmasq = lab.spawn(lab.dc, ['dnsmasq', '-k', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--listen-address=${lab.dcAddress(DNS_DC)}`, '--bind-interfaces', `--addn-hosts=${hosts}`, '--local-ttl=1', '--pid-file='], { stdio: 'ignore' });
    lab.setResolver(1, lab.dcAddress(DNS_DC));
    await waitFor('the far end', () => {
      if (dnsmasq.exitCode !== null || farEnd.exitCode !== null) throw new Error('dnsmasq or the far end exited');
      return farEndOutput.includes('ready') ? true : undefined;
    }, 15_000, 50);

    const start = async (name: string, port: number, targets: string[], level: string): Promise<Started> => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, agentConfig(port, lab, targets, level));
      const argv = options.agentCommand(file);
      const child = lab.spawn(lab.site(1), argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const started: Started = { child, output: () => output, scrape: async () => [] };
      agents.push(started);
      await waitFor(`agent ${name} serving metrics`, () => {
        if (child.exitCode !== null) throw new Error(`agent ${name} exited ${child.exitCode}: ${output}`);
        return output.includes('serving metrics') ? true : undefined;
      }, 30_000, 100);
      const bridge = await lab.bridge(lab.site(1), port);
      started.scrape = async () => parseExposition(await (await fetch(`http://${bridge.hostPort}/metrics`)).text());
      return started;
    };
    const [dead, endless, normal] = await Promise.all([
      start('dead', 9470, DEAD_AGENT_TARGETS, 'debug'),
      ...(options.endlessCpu
        ? [start('endless', 9471, [DEAD_AGENT_TARGETS[4]!], 'info'), start('normal', 9472, [`{ name: normal, module: web, url: "http://DC1:${HTTP_PORT}/ok" }`], 'info')]
        : []),
    ]);
    await sleep(options.healthySeconds * 1000);

    await lab.dropAt(lab.dcAddress(DEAD_DC));
    await lab.dropAt(lab.dcAddress(DNS_DC));
    const diedAtMs = Date.now();
    // The dns target's cached answer lives 1 s more; let the first failures settle before counting.
    await sleep(2500);
    const before = await dead!.scrape();
    const cpuBefore = [endless, normal].map((a) => (a ? processCpuSeconds(a.child.pid!) : 0));
    const windowStart = Date.now();
    const synSent: DeadTargetsFigures['synSent'] = [];
    const fds: DeadTargetsFigures['fds'] = [];
    const deadHosts = [lab.dcAddress(DEAD_DC)];
    for (let second = 0; second < options.deadSeconds; second++) {
      const atMs = Date.now();
      const { stdout } = await lab.exec(lab.site(1), ['ss', '-Htn', 'state', 'syn-sent'], { allowFailure: true });
      synSent.push({ atMs, synSent: stdout.split('\n').filter((line) => deadHosts.some((h) => line.includes(`${h}:`))).length, inFlight: 0 });
      if (second % options.fdEverySeconds === 0) fds.push({ atMs, count: readdirSync(`/proc/${dead!.child.pid}/fd`).length });
      await sleep(Math.max(0, atMs + 1000 - Date.now()));
    }
    const after = await dead!.scrape();
    const windowEnd = Date.now();
    const cpuAfter = [endless, normal].map((a) => (a ? processCpuSeconds(a.child.pid!) : 0));

    // SIGTERM while attempts to the dead host are in flight (stuck in SYN-SENT, in the resolver).
    const termAt = performance.now();
    const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => dead!.child.once('exit', (exitCode, signal) => resolve({ exitCode, signal })));
    dead!.child.kill('SIGTERM');
    const guard = setTimeout(() => dead!.child.kill('SIGKILL'), 15_000);
    const { exitCode, signal } = await exited;
    clearTimeout(guard);
    const sigterm = { exitCode, signal, ms: performance.now() - termAt };

    const logged = failedAttempts(dead!.output());
    const failures = logged.filter((f) => f.startedMs >= windowStart && f.startedMs + f.elapsedMs <= windowEnd);
    // ss runs in a child process started at atMs: count the attempts in flight at any point of the next SS_SKEW_MS.
    for (const sample of synSent) {
      sample.inFlight = logged.filter((f) => (f.target === 'tcp-bh' || f.target === 'http-bh') && f.startedMs <= sample.atMs + SS_SKEW_MS && sample.atMs <= f.startedMs + f.elapsedMs).length;
    }
    const counters = Object.fromEntries(
      DEAD_TARGETS.map((t) => {
        const delta = (name: string) => sumSamples(after, name, { target: t.name }) - sumSamples(before, name, { target: t.name });
        return [t.name, { attempts: delta('linkmon_probe_attempts_total'), failures: delta('linkmon_probe_failures_total') }];
      }),
    );
    const successZeroAfterMs = Object.fromEntries(
      DEAD_TARGETS.filter((t) => t.dies).map((t) => {
        const first = logged.find((f) => f.target === t.name && f.startedMs + f.elapsedMs >= diedAtMs);
        return [t.name, first ? first.startedMs + first.elapsedMs - diedAtMs : Number.NaN];
      }),
    );
    const seconds = (windowEnd - windowStart) / 1000;
    const endlessCpu =
      endless && normal
        ? (() => {
            const [e, n] = [cpuAfter[0]! - cpuBefore[0]!, cpuAfter[1]! - cpuBefore[1]!];
            return { endlessCpuSeconds: e, normalCpuSeconds: n, addedCoreFraction: (e - n) / seconds };
          })()
        : undefined;
    const slowGc = (samples: ExpositionSample[]) => sumSamples(samples, 'nodejs_gc_duration_seconds_count') - sumSamples(samples, 'nodejs_gc_duration_seconds_bucket', { le: '0.1' });
    return { diedAtMs, deadSeconds: seconds, failures, counters, successZeroAfterMs, synSent, fds, sigterm, slowGcs: slowGc(after) - slowGc(before), ...(endlessCpu ? { endlessCpu } : {}), loadAverage: loadavg() };
  } finally {
    for (const agent of agents) if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The scheduler's debug lines for failed attempts. */
export function failedAttempts(output: string): FailedAttempt[] {
  const attempts: FailedAttempt[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes('"msg":"probe failed"')) continue;
    const entry = JSON.parse(line) as { target: string; reason: string; started_ms: number; elapsed_ms: number };
    attempts.push({ target: entry.target, reason: entry.reason, startedMs: entry.started_ms, elapsedMs: entry.elapsed_ms });
  }
  return attempts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
