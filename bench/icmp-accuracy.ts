// RTT accuracy of the agent's ICMP prober against fping on a lab path (test/lab: site — wan router
// with the TUN delay line — dc), the agent and fping probing the same dc address in the same minute.
// Three agents run side by side, one per ICMP path: the native addon's raw socket (kernel receive
// timestamps; what the agent uses with CAP_NET_RAW), its unprivileged ping socket (kernel receive
// timestamps; what it uses without privileges: run as nobody with no capabilities, the site
// namespace's net.ipv4.ping_group_range allowing nobody's group) and the raw-socket fallback
// (event-loop receive timestamps; when the addon is not built).
// For each path delay (5, 20, 50 ms one way, site_to_dc) without and with ±2 ms jitter:
//   - |median(agent RTT) − median(fping RTT)|, goal <= 0.05 ms;
//   - p50 and p95 computed by histogram_quantile from the agent's exported buckets
//     (LATENCY_BUCKETS), goal within 2% of fping's own p50/p95.
// fping prints 0.01 ms below 10 ms and 0.1 ms below 100 ms, so the agent's RTTs are also compared
// rounded the same way.
// Root required. Usage: npx tsx bench/icmp-accuracy.ts [--seconds 60] [--rate 100]
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { histogramQuantile, bucketsFromExposition, type CumulativeBucket } from '../test/support/stats/histogram-quantile.js';
import { median, sampleQuantile } from '../test/support/stats/sample-quantile.js';
import { LATENCY_BUCKETS } from '../agent/metrics.js';
import { createLab } from '../test/lab/lab.js';
import { compileHarness, machineNote, runFping, startHarness, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, rate: { type: 'string', default: '100' } } });
const seconds = Number(values.seconds);
const rate = Number(values.rate); // echoes per second, for the agent and for fping each
const TRANSPORTS = ['raw', 'ping', 'raw-socket'] as const;
const NOBODY = 65534;
/** How each transport's harness is started inside the site namespace. */
const WRAPPER: Record<(typeof TRANSPORTS)[number], string[]> = {
  raw: [],
  ping: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'],
  'raw-socket': [],
};
const CONDITIONS = [
  { ms: 0, jitterMs: 0, judged: false },
  ...[5, 20, 50].flatMap((ms) => [
    { ms, jitterMs: 0, judged: true },
    { ms, jitterMs: 2, judged: true },
  ]),
];

/** fping prints 3 significant-ish digits: %.3f below 1 ms, %.2f below 10, %.1f below 100, %.0f above. */
function asFpingPrints(ms: number): number {
  const decimals = ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0;
  return Number(ms.toFixed(decimals));
}

/**
 * Standard error of a sample median, 1 / (2 f(m) sqrt(n)), with the density at the median
 * estimated from the 45th-55th percentile spread. With ±2 ms jitter this sampling noise, not a
 * bias of either tool, dominates the difference of two medians.
 */
function medianStandardError(samples: readonly number[]): number {
  const spread = sampleQuantile(samples, 0.55) - sampleQuantile(samples, 0.45);
  return spread / (0.2 * Math.sqrt(samples.length));
}

/** What histogram_quantile would answer for these samples under another bucket layout. */
function simulatedBuckets(samplesMs: readonly number[], boundsSeconds: readonly number[]): CumulativeBucket[] {
  const sorted = [...samplesMs].map((ms) => ms / 1000).sort((a, b) => a - b);
  let i = 0;
  const buckets = boundsSeconds.map((upperBound) => {
    while (i < sorted.length && sorted[i]! <= upperBound) i++;
    return { upperBound, count: i };
  });
  return [...buckets, { upperBound: Number.POSITIVE_INFINITY, count: sorted.length }];
}

const dir = mkdtempSync(join(tmpdir(), 'linkmon-icmp-accuracy-'));
chmodSync(dir, 0o755); // the ping-socket harness runs as nobody and reads the config from here
console.log('compiling the agent harness into dist/ …');
await compileHarness();
const lab = await createLab({ sites: 1, dcAddresses: 2 });
const target = lab.dcAddress(1);
await lab.exec(lab.site(), ['sysctl', '-qw', `net.ipv4.ping_group_range=${NOBODY} ${NOBODY}`]);
const configFile = join(dir, 'agent.yaml');
writeFileSync(
  configFile,
  [
    'site: {id: bench, name: ICMP accuracy bench}',
    'log: {level: warn}',
    'modules:',
    `  ping: {kind: icmp, interval: 1s, timeout: 500ms, packets: ${rate}, payload_bytes: 56}`,
    'targets:',
    `  - {name: dc, module: ping, host: ${target}}`,
    '',
  ].join('\n'),
);

const rows: Record<string, unknown>[] = [];
try {
  for (const condition of CONDITIONS) {
    await lab.setDelay('site_to_dc', { ms: condition.ms, jitterMs: condition.jitterMs });
    const harnesses = TRANSPORTS.map((transport) =>
      startHarness(lab.site(), { configFile, warmupSeconds: 0, measureSeconds: seconds, recordRtts: true, transport }, [], WRAPPER[transport]),
    );
    await Promise.all(harnesses.map((h) => h.event('measuring')));
    const [fping, ...agents] = await Promise.all([runFping(lab.site(), [target], seconds * rate, 1000 / rate, ['-t', '500']), ...harnesses.map((h) => h.result)]);
    const fpingMs = (fping.rttsMs.get(target) ?? []).filter((v): v is number => v !== undefined);
    for (const [i, agent] of agents.entries()) {
      const transport = TRANSPORTS[i]!;
      const agentMs = (agent.rttsSeconds ?? []).map((s) => s * 1000);
      const buckets = bucketsFromExposition(agent.durationBuckets);
      const hq = (q: number) => histogramQuantile(q, buckets) * 1000;
      const fp50 = median(fpingMs);
      const fp95 = sampleQuantile(fpingMs, 0.95);
      const relative = (value: number, reference: number) => (value - reference) / reference;
      const row = {
        transport,
        timestamps: agent.timestamps,
        socket: agent.sockets.ipv4,
        delayMs: condition.ms,
        jitterMs: condition.jitterMs,
        judged: condition.judged,
        samples: { agent: agentMs.length, fping: fpingMs.length, agentLost: agent.failures },
        fping: { p50: fp50, p95: fp95 },
        agentRaw: { p50: median(agentMs), p95: sampleQuantile(agentMs, 0.95) },
        agentHistogram: { p50: hq(0.5), p95: hq(0.95) },
        medianDiffMs: median(agentMs) - fp50,
        medianDiffAsFpingPrintsMs: median(agentMs.map(asFpingPrints)) - fp50,
        medianDiffStandardErrorMs: Math.hypot(medianStandardError(agentMs), medianStandardError(fpingMs)),
        histogramErrorVsFping: { p50: relative(hq(0.5), fp50), p95: relative(hq(0.95), fp95) },
        /** Bucket error alone: the same agent samples, histogram vs exact quantile. */
        histogramErrorVsOwnSamples: { p50: relative(hq(0.5), median(agentMs)), p95: relative(hq(0.95), sampleQuantile(agentMs, 0.95)) },
        /** The same agent samples under the previous layout (4% steps from 1 ms to 200 ms), for comparison. */
        histogramErrorVsFpingWith4pcBuckets: (() => {
          const b4 = simulatedBuckets(agentMs, fourPercentBuckets());
          return { p50: relative(histogramQuantile(0.5, b4) * 1000, fp50), p95: relative(histogramQuantile(0.95, b4) * 1000, fp95) };
        })(),
      };
      rows.push(row);
      console.log(
        `${transport} delay ${condition.ms} ± ${condition.jitterMs} ms: fping p50 ${fp50.toFixed(3)} p95 ${fp95.toFixed(3)} | agent p50 ${row.agentRaw.p50.toFixed(3)} ` +
          `(Δ ${row.medianDiffMs.toFixed(3)} ms) | histogram p50 ${row.agentHistogram.p50.toFixed(3)} (${(row.histogramErrorVsFping.p50 * 100).toFixed(2)}%) ` +
          `p95 ${row.agentHistogram.p95.toFixed(3)} (${(row.histogramErrorVsFping.p95 * 100).toFixed(2)}%)`,
      );
    }
  }
} finally {
  await lab.destroy();
  rmSync(dir, { recursive: true, force: true });
}

/** LATENCY_BUCKETS before this bench: 25% steps to 1 ms, 4% to 200 ms, 25% to 5 s. */
function fourPercentBuckets(): number[] {
  const bounds: number[] = [];
  const add = (from: number, to: number, factor: number) => {
    for (let b = from; b < to * 0.9999; b *= factor) bounds.push(Number(b.toPrecision(4)));
  };
  add(0.0001, 0.001, 1.25);
  add(0.001, 0.2, 1.04);
  add(0.2, 5, 1.25);
  return [...bounds, 5];
}

const judgedRows = (transport: string) => rows.filter((r) => r.judged && r.transport === transport) as { medianDiffMs: number; histogramErrorVsFping: { p50: number; p95: number } }[];
const goals = Object.fromEntries(
  TRANSPORTS.map((transport) => {
    const judged = judgedRows(transport);
    return [
      transport,
      {
        medianDiffAtMost005ms: judged.every((r) => Math.abs(r.medianDiffMs) <= 0.05),
        histogramWithin2pc: judged.every((r) => Math.abs(r.histogramErrorVsFping.p50) <= 0.02 && Math.abs(r.histogramErrorVsFping.p95) <= 0.02),
      },
    ];
  }),
);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const table = [
  '| transport | delay one way | fping p50 / p95 ms | agent p50 / p95 ms | Δ median ms (± 2 SE) | Δ median (fping rounding) | histogram p50 (err) | histogram p95 (err) | previous 4% buckets p50 / p95 err |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map((row) => {
    const r = row as unknown as {
      transport: string; delayMs: number; jitterMs: number; fping: { p50: number; p95: number }; agentRaw: { p50: number; p95: number }; agentHistogram: { p50: number; p95: number };
      medianDiffMs: number; medianDiffAsFpingPrintsMs: number; medianDiffStandardErrorMs: number; histogramErrorVsFping: { p50: number; p95: number }; histogramErrorVsFpingWith4pcBuckets: { p50: number; p95: number };
    };
    return `| ${r.transport} | ${r.delayMs} ± ${r.jitterMs} ms | ${r.fping.p50.toFixed(3)} / ${r.fping.p95.toFixed(3)} | ${r.agentRaw.p50.toFixed(3)} / ${r.agentRaw.p95.toFixed(3)} | ${r.medianDiffMs.toFixed(3)} (± ${(2 * r.medianDiffStandardErrorMs).toFixed(3)}) | ${r.medianDiffAsFpingPrintsMs.toFixed(3)} | ${r.agentHistogram.p50.toFixed(3)} (${pct(r.histogramErrorVsFping.p50)}) | ${r.agentHistogram.p95.toFixed(3)} (${pct(r.histogramErrorVsFping.p95)}) | ${pct(r.histogramErrorVsFpingWith4pcBuckets.p50)} / ${pct(r.histogramErrorVsFpingWith4pcBuckets.p95)} |`;
  }),
].join('\n');
const markdown = [
  '# ICMP RTT accuracy: agent vs fping on the lab path',
  '',
  `Lab: site — wan (TUN delay line, site_to_dc) — dc; three agent harnesses (production Agent path, compiled; one per transport: \`raw\` = the addon's raw socket as root, \`ping\` = the addon's unprivileged ping socket as nobody without capabilities, \`raw-socket\` = the fallback package) and fping -C in the site namespace, each ${rate} echoes/s to ${target} for ${seconds} s in the same minute.`,
  `Histogram quantiles: PromQL histogram_quantile (test/support/stats/histogram-quantile.ts) over the exported linkmon_probe_duration_seconds buckets (LATENCY_BUCKETS, ${LATENCY_BUCKETS.length} bounds).`,
  `Machine: ${machineNote()}.`,
  '',
  table,
  '',
  'Δ median ± 2 SE: sampling noise of two independent medians (with ±2 ms jitter about as large as the 0.05 ms goal). "fping rounding": the agent\'s RTTs rounded as fping prints them (0.01 ms below 10 ms, 0.1 ms below 100 ms).',
  '',
  ...TRANSPORTS.map(
    (t) =>
      `Goals for ${t} (5/20/50 ms rows): |Δ median| <= 0.05 ms: ${goals[t]!.medianDiffAtMost005ms ? 'met' : 'missed'}; histogram p50/p95 within 2% of fping: ${goals[t]!.histogramWithin2pc ? 'met' : 'missed'}.`,
  ),
  '',
].join('\n');
console.log(`\n${markdown}`);
writeResults('icmp-accuracy', { machine: machineNote(), seconds, rate, target, bucketCount: LATENCY_BUCKETS.length, goals, rows }, markdown);
