// Issue #11: nothing the agent does itself may fake a latency, and a dead target fails at its
// timeout. Two modes, both on the network lab with the agent built as production runs it
// (node dist/cli/linkmon.js; run `npm run build` first). Needs root and the Debian packages
// iproute2, nftables, dnsmasq-base.
//
// --mode load (default): the agent in site 1 probes one dc address by TCP and HTTP (4 targets
// each, every 500 ms), UDP (20 packets/s) and ICMP (20 echoes/s) through the linkmon responder.
// Three phases of --seconds (60) in one run: baseline; 100 concurrent keep-alive scrapers
// hammering /metrics at nice 19 (they stand in for scrapers elsewhere on the network: judged);
// the same at nice 0 (their CPU then competes with the agent's on the shared cores: reported).
// From the agent's own histograms: median and p95 of TCP connect, UDP RTT and HTTP total time
// (goal: medians move <= 1 ms, p95 <= 5 ms), ICMP echoes/s (goal: the configured rate), and the
// scrapers' p99.
// --mode dead: dead-targets-scenario.ts for --seconds (300): failure timing against the timeout
// (goal ±10 %), schedule, SYN-SENT sockets against attempts in flight, fds, SIGTERM, and the CPU an
// endless-body target adds (goal < 5 % of a core).
// --agent-root DIR runs another checkout's build (e.g. main's, for the before figures).
// Usage: npx tsx bench/probe-integrity.ts [--mode load|dead] [--seconds N] [--agent-root DIR]
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEAD_TARGETS, runDeadTargets } from '../test/agent/dead-targets-scenario.js';
import { processCpuSeconds } from '../test/agent/throughput/lab-harness.js';
import { createLab, type Lab } from '../test/lab/lab.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../test/support/exposition.js';
import { waitFor } from '../test/support/linkmon-process.js';
import { histogramQuantile, type CumulativeBucket } from '../test/support/stats/histogram-quantile.js';
import { compiledPath, compileForBench, machineNote, REPO_ROOT, sleep, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { mode: { type: 'string', default: 'load' }, seconds: { type: 'string' }, 'agent-root': { type: 'string', default: REPO_ROOT } } });
const mode = values.mode === 'dead' ? 'dead' : 'load';
const seconds = Number(values.seconds ?? (mode === 'dead' ? 300 : 60));
const agentRoot = values['agent-root']!;
const agentCli = join(agentRoot, 'dist/cli/linkmon.js');
if (!existsSync(agentCli)) throw new Error(`${agentCli} is missing: run npm run build in ${agentRoot}`);
const agentCommand = (file: string) => [process.execPath, agentCli, 'agent', '--config', file];
const ICMP_PER_SECOND = 20;
const SCRAPERS = 100;
/** TCP and HTTP targets (same dc address) each: 4 × 2 per second gives 480 samples a minute. */
const TWINS = 4;
const STORM = 'bench/lib/scrape-storm.ts';

const lab = await createLab({ sites: 1, dcAddresses: 4 });
try {
  if (mode === 'load') await loadMode(lab);
  else await deadMode(lab);
} finally {
  await lab.destroy();
}

async function loadMode(lab: Lab): Promise<void> {
  await compileForBench([STORM]);
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-integrity-'));
  const dc = lab.dcAddress(1);
  try {
    writeFileSync(join(dir, 'token'), 'bench-token-0123456789abcdef\n', { mode: 0o600 });
    writeFileSync(join(dir, 'responder.yaml'), [`listen: { address: ${dc} }`, `auth: { token_file: ${join(dir, 'token')} }`, 'log: { level: warn }'].join('\n'));
    // The far end is another host in production; here it shares the two cores with the scrapers, so it
    // runs at real-time priority (as the lab's reference tools do, test/lab/README.md) lest the load
    // aimed at the agent slow the responder and count as path latency.
    const responder = lab.spawn(lab.dc, ['chrt', '--fifo', '5', process.execPath, agentCli, 'responder', '--config', join(dir, 'responder.yaml')], { cwd: agentRoot, stdio: 'ignore' });
    writeFileSync(
      join(dir, 'agent.yaml'),
      `site: { id: bench, name: Bench }
listen: { address: 127.0.0.1, port: 9470 }
log: { level: warn }
modules:
  icmp: { kind: icmp, interval: 1s, packets: ${ICMP_PER_SECOND}, timeout: 1s }
  tcp: { kind: tcp, interval: 500ms, timeout: 500ms, port: 9482 }
  udp: { kind: udp, interval: 1s, packets: 20, timeout: 1s, port: 9483 }
  web: { kind: http, interval: 500ms, timeout: 500ms }
targets:
  - { name: icmp, module: icmp, host: ${dc} }
  - { name: udp, module: udp, host: ${dc} }
${Array.from({ length: TWINS }, (_, i) => `  - { name: tcp-${i + 1}, module: tcp, host: ${dc} }\n  - { name: http-${i + 1}, module: web, url: "http://${dc}:9480/latency" }\n`).join('')}`,
    );
    const agent = lab.spawn(lab.site(1), agentCommand(join(dir, 'agent.yaml')), { cwd: agentRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let agentErrors = '';
    agent.stderr!.on('data', (chunk: Buffer) => (agentErrors += chunk.toString()));
    agent.once('exit', (code) => code !== 0 && console.error(`agent exited ${code}: ${agentErrors}`));
    const bridge = await lab.bridge(lab.site(1), 9470);
    const scrape = () =>
      waitFor('a 200 from /metrics', async () => {
        const res = await fetch(`http://${bridge.hostPort}/metrics`);
        return res.status === 200 ? parseExposition(await res.text()) : (await res.arrayBuffer(), undefined);
      }, 30_000, 20);
    await waitFor('probes running', async () => (sumSamples(await scrape(), 'linkmon_probe_duration_seconds_count', { kind: 'http' }) > 10 ? true : undefined), 60_000, 500);
    await sleep(2000);

    const phase = async (name: string, during?: () => ChildProcess) => {
      const storm = during?.();
      const stormResult = storm ? collectLine(storm) : undefined;
      if (storm) await sleep(2000);
      const cpu0 = processCpuSeconds(agent.pid!);
      const before = await scrape();
      const startedAt = Date.now();
      await sleep(seconds * 1000);
      const after = await scrape();
      const wall = (Date.now() - startedAt) / 1000;
      const cpu = (processCpuSeconds(agent.pid!) - cpu0) / wall;
      const load = loadavg();
      const storms = stormResult ? JSON.parse(await stormResult) : undefined;
      // A scrape may serve a body rendered up to a second before it: time the ICMP count by the
      // newest ICMP success in the same body (20 a second), not by the bench's clock.
      const icmpSeconds = sumSamples(after, 'linkmon_probe_last_success_timestamp_seconds', { kind: 'icmp' }) - sumSamples(before, 'linkmon_probe_last_success_timestamp_seconds', { kind: 'icmp' });
      return { name, wallSeconds: wall, agentCpuCores: cpu, loadAverage: load, targets: quantiles(before, after), icmpPerSecond: delta(before, after, 'linkmon_probe_attempts_total', 'icmp') / icmpSeconds, scrapers: storms };
    };
    const storm = (nice: number) => () =>
      lab.spawn(lab.site(1), ['nice', '-n', String(nice), process.execPath, compiledPath(STORM), 'http://127.0.0.1:9470/metrics', String(SCRAPERS), String(seconds + 6)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const baseline = await phase('baseline');
    const loaded = await phase(`${SCRAPERS} scrapers (nice 19)`, storm(19));
    const contended = await phase(`${SCRAPERS} scrapers (nice 0)`, storm(0));
    agent.kill('SIGTERM');
    responder.kill('SIGTERM');
    report({ baseline, loaded, contended });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Phase = { name: string; wallSeconds: number; agentCpuCores: number; loadAverage: number[]; targets: Record<string, Quantiles>; icmpPerSecond: number; scrapers?: { scrapes: number; byStatus: Record<string, number>; p50Ms: number; p99Ms: number } };
interface Quantiles {
  samples: number;
  failures: number;
  medianMs: number;
  p95Ms: number;
}

/** Change of a metric summed over the targets of one kind. */
function delta(before: ExpositionSample[], after: ExpositionSample[], name: string, kind: string): number {
  return sumSamples(after, name, { kind }) - sumSamples(before, name, { kind });
}

/** Quantiles of each kind's histogram deltas, its targets' buckets summed (as sum by (le) would). */
function quantiles(before: ExpositionSample[], after: ExpositionSample[]): Record<string, Quantiles> {
  const result: Record<string, Quantiles> = {};
  for (const kind of ['tcp', 'udp', 'http', 'icmp']) {
    const byBound = new Map<number, number>();
    for (const s of after) {
      if (s.name !== 'linkmon_probe_duration_seconds_bucket' || s.labels.kind !== kind) continue;
      const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + s.value - sumSamples(before, s.name, s.labels));
    }
    const buckets: CumulativeBucket[] = [...byBound].map(([upperBound, count]) => ({ upperBound, count }));
    result[kind] = {
      samples: delta(before, after, 'linkmon_probe_duration_seconds_count', kind),
      failures: delta(before, after, 'linkmon_probe_failures_total', kind),
      medianMs: histogramQuantile(0.5, buckets) * 1000,
      p95Ms: histogramQuantile(0.95, buckets) * 1000,
    };
  }
  return result;
}

function collectLine(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').pop()!) : reject(new Error(`scrape storm exited ${code}`)))));
}

function moved(baseline: Phase, loaded: Phase) {
  return ['tcp', 'udp', 'http'].map((t) => {
    const [b, l] = [baseline.targets[t]!, loaded.targets[t]!];
    const medianMovedMs = l.medianMs - b.medianMs;
    const p95MovedMs = l.p95Ms - b.p95Ms;
    return { target: t, medianMovedMs, p95MovedMs, goal: Math.abs(medianMovedMs) <= 1 && Math.abs(p95MovedMs) <= 5 ? 'met' : 'MISSED' };
  });
}

function report({ baseline, loaded, contended }: { baseline: Phase; loaded: Phase; contended: Phase }): void {
  const phases = [baseline, loaded, contended];
  const judged = moved(baseline, loaded);
  const reference = moved(baseline, contended);
  const icmpGoal = (p: Phase) => (Math.abs(p.icmpPerSecond - ICMP_PER_SECOND) / ICMP_PER_SECOND <= 0.01 ? 'met' : 'MISSED');
  const markdown = [
    '# Probe integrity under scrape load (issue #11)',
    '',
    `Agent: \`${agentCli}\` (plain node, normal priority). Lab: site 1 → dc address 1 (linkmon responder at real-time priority: in production the far end is another host). Three phases of ${seconds} s in one run: baseline; ${SCRAPERS} concurrent keep-alive scrapers of /metrics (inside the site namespace) at nice 19, standing in for scrapers elsewhere on the network (judged); the same scrapers at nice 0, where their own CPU use competes with the agent's on the two cores (reported).`,
    `Quantiles from the agent's own histograms (linkmon_probe_duration_seconds, bucket deltas over the phase, summed over the kind's targets; below 1 ms the buckets are 25 % apart, under 0.1 ms everything is in the first bucket).`,
    `Machine: ${machineNote()}.`,
    '',
    '| kind | phase | samples | failures | median ms | p95 ms |',
    '|---|---|---|---|---|---|',
    ...['tcp', 'udp', 'http', 'icmp'].flatMap((t) => phases.map((p) => `| ${t} | ${p.name} | ${p.targets[t]!.samples} | ${p.targets[t]!.failures} | ${p.targets[t]!.medianMs.toFixed(3)} | ${p.targets[t]!.p95Ms.toFixed(3)} |`)),
    '',
    `| kind | ${loaded.name}: median moved ms (goal ≤ 1) | p95 moved ms (goal ≤ 5) | goal | ${contended.name}: median / p95 moved ms |`,
    '|---|---|---|---|---|',
    ...judged.map((r, i) => `| ${r.target} | ${r.medianMovedMs.toFixed(3)} | ${r.p95MovedMs.toFixed(3)} | ${r.goal} | ${reference[i]!.medianMovedMs.toFixed(3)} / ${reference[i]!.p95MovedMs.toFixed(3)} |`),
    '',
    `ICMP echoes per second (configured ${ICMP_PER_SECOND}): ${phases.map((p) => `${p.name} ${p.icmpPerSecond.toFixed(2)} (${icmpGoal(p)})`).join(', ')}.`,
    ...[loaded, contended].map((p) => {
      const s = p.scrapers!;
      return `Scrapers, ${p.name}: ${s.scrapes} scrapes in ${seconds + 6} s (${(s.scrapes / (seconds + 6)).toFixed(0)}/s), by status ${JSON.stringify(s.byStatus)}; 200s p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms.`;
    }),
    `Agent CPU (share of a core): ${phases.map((p) => `${p.name} ${(p.agentCpuCores * 100).toFixed(1)} %`).join(', ')}. Load average at the end of each phase: ${phases.map((p) => p.loadAverage.map((l) => l.toFixed(2)).join(' ')).join(' / ')}.`,
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  writeResults(agentRoot === REPO_ROOT ? 'probe-integrity' : 'probe-integrity-other-build', { machine: machineNote(), agentCli, seconds, phases, judged, reference }, markdown);
}

async function deadMode(lab: Lab): Promise<void> {
  const figures = await runDeadTargets(lab, { agentCommand, healthySeconds: 5, deadSeconds: seconds, fdEverySeconds: 10, endlessCpu: true });
  const rows = DEAD_TARGETS.map((t) => {
    const failures = figures.failures.filter((f) => f.target === t.name);
    const elapsed = failures.map((f) => f.elapsedMs);
    const spacing = failures.slice(1).map((f, i) => f.startedMs - failures[i]!.startedMs - t.intervalSeconds * 1000);
    const timeoutMs = t.timeoutSeconds * 1000;
    const withinTenPercent = t.reason === 'body_too_large' ? NaN : elapsed.filter((e) => Math.abs(e - timeoutMs) <= 0.1 * timeoutMs).length;
    return {
      target: t.name,
      interval: t.intervalSeconds,
      timeout: t.timeoutSeconds,
      expected: Math.floor(figures.deadSeconds / t.intervalSeconds),
      failures: failures.length,
      reasons: [...new Set(failures.map((f) => f.reason))].join(','),
      counters: figures.counters[t.name]!,
      elapsedMinMs: Math.min(...elapsed),
      elapsedMaxMs: Math.max(...elapsed),
      withinTenPercent,
      spacingWorstMs: Math.max(...spacing.map(Math.abs)),
      successZeroAfterMs: figures.successZeroAfterMs[t.name],
    };
  });
  const settled = figures.synSent.filter((s) => s.atMs < figures.synSent.at(-1)!.atMs - 2000);
  const synOverInFlight = settled.filter((s) => s.synSent > s.inFlight).length;
  const counts = figures.fds.map((f) => f.count);
  const markdown = [
    '# Dead targets (issue #11)',
    '',
    `Agent: \`${agentCli}\`, in lab site 1; dc address 2 dead (nftables drop on the dc's input), the TLS port silent, the resolver (dnsmasq on dc address 4) dead, an endless body. Dead phase ${figures.deadSeconds.toFixed(0)} s.`,
    `Machine: ${machineNote()}; load average at the end ${figures.loadAverage.map((l) => l.toFixed(2)).join(' ')}.`,
    '',
    '| target | interval/timeout s | reason | failed attempts (expected) | started / failed (counters) | elapsed ms min..max | within ±10 % of timeout | worst start spacing error ms | success 0 after death, ms |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.interval}/${r.timeout} | ${r.reasons} | ${r.failures} (${r.expected}) | ${r.counters.attempts} / ${r.counters.failures} | ${r.elapsedMinMs.toFixed(1)}..${r.elapsedMaxMs.toFixed(1)} | ${Number.isNaN(r.withinTenPercent) ? 'n/a' : `${r.withinTenPercent} of ${r.failures}`} | ${r.spacingWorstMs.toFixed(1)} | ${r.successZeroAfterMs === undefined ? '' : r.successZeroAfterMs.toFixed(0)} |`,
    ),
    '',
    `SYN-SENT sockets to the dead host, sampled every second: max ${Math.max(...settled.map((s) => s.synSent))}; samples with more than the attempts then in flight: ${synOverInFlight} of ${settled.length}.`,
    `Agent file descriptors every 10 s: ${counts.join(', ')} (min ${Math.min(...counts)}, max ${Math.max(...counts)}).`,
    `Garbage collections of 100 ms or more in the agent during the dead phase: ${figures.slowGcs}.`,
    `SIGTERM with attempts in flight: exit ${figures.sigterm.exitCode}${figures.sigterm.signal ? ` (signal ${figures.sigterm.signal})` : ''} after ${figures.sigterm.ms.toFixed(0)} ms.`,
    figures.endlessCpu
      ? `Endless body: agent with only the endless target ${figures.endlessCpu.endlessCpuSeconds.toFixed(2)} CPU-s, with only a normal-body target ${figures.endlessCpu.normalCpuSeconds.toFixed(2)} CPU-s over the phase: adds ${(figures.endlessCpu.addedCoreFraction * 100).toFixed(2)} % of a core (goal < 5 %).`
      : '',
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  writeResults(agentRoot === REPO_ROOT ? 'probe-dead-targets' : 'probe-dead-targets-other-build', { machine: machineNote(), agentCli, rows, figures: { ...figures, failures: figures.failures.length } }, markdown);
}
