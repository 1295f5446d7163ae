// Issue #2 lab tests: the real agent in site namespaces probing targets in the dc namespace through
// the lab's wan router, with known loss, delay and jitter, plus a real Prometheus scraping it.
// Needs root and the Debian packages iproute2, nftables, python3, prometheus
// (scripts/test-host-setup.sh). Runtime ~45 s: one lab, the measurements run side by side.
//
// Layout: site1's agent probes loss-0/2/10 (dc addresses 2, 3, 4 with 0%, 2%, 10% of echo requests
// dropped; the test reads the router's drop counters every 0.1 s meanwhile), tcp-dc and http-dc (a
// tiny HTTP server on dc address 1), and icmp-bh/tcp-bh on dc address 5, blackholed half way. site2 probes twin targets: rtt-base (dc 1, delay line at 0),
// rtt-delayed (dc 2, +20 ms one way) and rtt-jittered (dc 3, +20 ms, later ±2 ms). Twins are
// probed by the same process at the same time, so CPU contention on the shared box hits them alike.
// Metrics are read through lab.bridge() into the site namespace; Prometheus runs inside site1's
// namespace and scrapes the agent on that namespace's loopback.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binomialInterval } from '../support/stats/binomial.js';
import { histogramQuantile, type CumulativeBucket } from '../support/stats/histogram-quantile.js';
import { median } from '../support/stats/sample-quantile.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../support/exposition.js';
import { REPO_ROOT, startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { startPrometheus, staticScrape, type MatrixSeries, type PrometheusInstance } from '../support/prometheus.js';
import { DropCounterLog, lossCountersInstant, type Instant } from '../lab/drop-counter-log.js';
import { createLab, type DropRule, type Lab } from '../lab/lab.js';
import type { RecordedRtts } from '../lab/rtt-recorder.js';
import { RENDER_REUSE_MS } from '../../agent/http/scrape-load.js';

/**
 * Loss is checked twice. Exactly: the agent's lost count must be what the wan router's drop rule for
 * that target counted over the same window (up to the echoes in flight at the window's edges, see
 * lossInstant). Statistically: it must be consistent with the injected ratio at 99.9%. Issue #2 asks
 * for the 95% interval, but that fails 1 check in 20 on a correct system by construction (~1 run in 5
 * with 4 checks), so it is only reported in the messages.
 */
const CONFIDENCE = 0.999;
const REPORTED_CONFIDENCE = 0.95;
const AGENT_PORT = 9470;
const HTTP_PORT = 8080;
const ECHOES_PER_SECOND = 50;
const ICMP_TIMEOUT_MS = 1000;
/**
 * Margins of lossInstant. The agent counts an echo as lost when a timer sweeps it after its deadline;
 * its event loop may answer a scrape before running a timer that is already due, by up to how long the
 * box kept it off the CPU: SETTLE_LATE_MS. The router drops an echo within ROUTER_LAG_MS of the agent
 * setting its deadline (veth and the real-time delay line: well under 1 ms unless the box stalls).
 */
const SETTLE_LATE_MS = 300;
const ROUTER_LAG_MS = 50;
const LOSS_WINDOW_SECONDS = 20;
const DELAY_MS = 20;
const JITTER_MS = 2;
const LOSS_LEVELS = [
  { target: 'loss-0', dc: 2, ratio: 0 },
  { target: 'loss-2', dc: 3, ratio: 0.02 },
  { target: 'loss-10', dc: 4, ratio: 0.1 },
] as const;
const BLACKHOLED_DC = 5;
const TWINS = { base: 1, delayed: 2, jittered: 3 } as const;
const TWIN_TARGETS = Object.entries(TWINS).map(([twin, dc]) => ({ name: `rtt-${twin}`, dc }));

const MODULES = `modules:
  icmp: { kind: icmp, interval: 1s, packets: ${ECHOES_PER_SECOND}, timeout: ${ICMP_TIMEOUT_MS}ms }
  tcp: { kind: tcp, interval: 1s, timeout: 1s, port: ${HTTP_PORT} }
  web: { kind: http, interval: 1s, timeout: 1s, expect_status: [200], expect_body: "^ok$" }
`;

function agentConfig(site: number, targets: string[]): string {
  return `site: { id: lab${site}, name: Lab site ${site} }
listen: { address: 127.0.0.1, port: ${AGENT_PORT} }
log: { level: info }
${MODULES}targets:
${targets.map((t) => `  - ${t}\n`).join('')}`;
}

interface SiteAgent {
  process: LinkmonProcess;
  scrape: () => Promise<ExpositionSample[]>;
}

/** A scrape and the wall-clock span (Date.now() ms) in which the agent read its counters for it. */
interface TimedScrape {
  samples: ExpositionSample[];
  from: number;
  to: number;
}

async function timedScrape(agent: SiteAgent): Promise<TimedScrape> {
  const from = Date.now();
  const samples = await agent.scrape();
  return { samples, from, to: Date.now() };
}

/**
 * The instant, on the router's clock of drops, that loss counters read somewhere in [from, to] (ms)
 * cover: an echo counts as lost one timeout after it was sent, so the counters include the echoes the
 * router dropped up to that instant, give or take the margins above. At 10% of 50 echoes/s about
 * 5 × 0.45 s ≈ 2 drops fall inside each edge's uncertainty (with the 0.1 s spacing of router readings),
 * which is the tolerance of the exact checks.
 */
function lossInstant(from: number, to: number): Instant {
  // A scrape may serve a body rendered up to RENDER_REUSE_MS before it (agent/http/scrape-load.ts).
  return lossCountersInstant(from - RENDER_REUSE_MS, to, { timeoutMs: ICMP_TIMEOUT_MS, settleLateMs: SETTLE_LATE_MS, routerLagMs: ROUTER_LAG_MS });
}

/** The drop rule of a loss level (a ratio of 0 has no rule: its router count is 0). */
function dropScope(dcAddress: string): Omit<DropRule, 'ratio'> {
  return { direction: 'site_to_dc', site: 1, dcAddress, protocol: 'icmp' };
}

describe('agent in the network lab (issue #2)', () => {
  let lab: Lab;
  let dir: string;
  const agents: SiteAgent[] = [];
  let prometheus: PrometheusInstance | undefined;
  let routerDrops: DropCounterLog | undefined;
  const dcAddress = (k: number) => lab.dcAddress(k);

  const startAgent = async (site: number, targets: string[]): Promise<SiteAgent> => {
    const file = join(dir, `site${site}.yaml`);
    writeFileSync(file, agentConfig(site, targets));
    const child = startLinkmon(['agent', '--config', file], { netns: lab.site(site) });
    const agent: SiteAgent = { process: child, scrape: async () => [] };
    agents.push(agent);
    await waitFor(`agent site${site} serving metrics`, () => (/serving metrics/.test(child.output()) ? true : undefined), 30_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n${child.output()}`);
    });
    const bridge = await lab.bridge(lab.site(site), AGENT_PORT);
    agent.scrape = async () => parseExposition(await (await fetch(`http://${bridge.hostPort}/metrics`)).text());
    return agent;
  };

  /**
   * Raw per-probe RTTs of rtt-base and rtt-delayed from the agent's probing path, run at real-time
   * priority so that other people's load on the shared box does not decide the result (see rtt-recorder.ts).
   */
  const recordTwinRtts = async (site: number): Promise<RecordedRtts> => {
    const file = join(dir, `recorder-site${site}.yaml`);
    const twins = TWIN_TARGETS.filter((t) => t.name !== 'rtt-jittered');
    writeFileSync(file, agentConfig(site, twins.map((t) => `{ name: ${t.name}, module: icmp, host: ${dcAddress(t.dc)} }`)));
    const recorder = join(REPO_ROOT, 'test/lab/rtt-recorder.ts');
    const { stdout } = await lab.exec(lab.site(site), [process.execPath, '--import', 'tsx', recorder, file, '1', '4', 'realtime']);
    return JSON.parse(stdout.trim().split('\n').pop()!) as RecordedRtts;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-agent-lab-'));
    lab = await createLab({ sites: 2, dcAddresses: BLACKHOLED_DC });
    lab.spawn(lab.dc, [process.execPath, '-e', `require('node:http').createServer((q, r) => r.end('ok')).listen(${HTTP_PORT}, '0.0.0.0')`], { stdio: 'ignore' });
    for (const level of LOSS_LEVELS) {
      const { direction, ...scope } = dropScope(dcAddress(level.dc));
      await lab.setDrop(direction, level.ratio, scope);
    }
    await lab.setDelay('site_to_dc', { ms: 0 });
    for (const twin of ['delayed', 'jittered'] as const) {
      await lab.setDelay('site_to_dc', { ms: DELAY_MS }, { site: 2, dcAddress: dcAddress(TWINS[twin]) });
    }
  });

  afterAll(async () => {
    await routerDrops?.stop().catch(() => {});
    await prometheus?.stop();
    await Promise.allSettled(agents.map((a) => a.process.stop()));
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`raises the median RTT by ${DELAY_MS} ± 0.3 ms over the delay line at 0 (raw per-probe RTTs)`, async () => {
    const rtts = await recordTwinRtts(2);
    const base = median(rtts['rtt-base'] ?? []);
    const delayed = median(rtts['rtt-delayed'] ?? []);
    expect(rtts['rtt-base']?.length).toBeGreaterThan(100);
    expect(delayed - base, `base ${base.toFixed(3)} ms, delayed ${delayed.toFixed(3)} ms`).toBeGreaterThan(DELAY_MS - 0.3);
    expect(delayed - base).toBeLessThan(DELAY_MS + 0.3);
  });

  describe('agents running side by side', () => {
    let before: TimedScrape[];
    let after: TimedScrape[];
    let windowEnd: number;

    beforeAll(async () => {
      const site1Targets = [
        ...LOSS_LEVELS.map((l) => `{ name: ${l.target}, module: icmp, host: ${dcAddress(l.dc)} }`),
        `{ name: icmp-bh, module: icmp, host: ${dcAddress(BLACKHOLED_DC)} }`,
        `{ name: tcp-dc, module: tcp, host: ${dcAddress(1)} }`,
        `{ name: tcp-bh, module: tcp, host: ${dcAddress(BLACKHOLED_DC)} }`,
        `{ name: http-dc, module: web, url: "http://${dcAddress(1)}:${HTTP_PORT}/health" }`,
      ];
      await Promise.all([
        startAgent(1, site1Targets),
        startAgent(2, TWIN_TARGETS.map((t) => `{ name: ${t.name}, module: icmp, host: ${dcAddress(t.dc)} }`)),
        startPrometheus({ netns: lab.site(1), scrapeConfigs: [staticScrape('linkmon', [`127.0.0.1:${AGENT_PORT}`])] }).then((p) => (prometheus = p)),
      ]);
      // The router log needs readings from a timeout (plus margin) before the first scrape; counters
      // of echoes still in flight settle within the 1 s timeout: start the window after both.
      routerDrops = DropCounterLog.start(lab);
      await sleep(2500);
      before = await Promise.all(agents.map(timedScrape));
      await sleep(LOSS_WINDOW_SECONDS * 1000);
      after = await Promise.all(agents.map(timedScrape));
      windowEnd = after[0]!.from / 1000;
      await routerDrops.stop();
    });

    const delta = (site: number, name: string, labels: Record<string, string>) =>
      sumSamples(after[site - 1]!.samples, name, labels) - sumSamples(before[site - 1]!.samples, name, labels);

    it('counts as lost exactly the echoes the router dropped at 0%, 2% and 10%, consistent with those ratios', () => {
      for (const level of LOSS_LEVELS) {
        const sent = delta(1, 'linkmon_probe_attempts_total', { target: level.target });
        const lost = delta(1, 'linkmon_probe_failures_total', { target: level.target });
        const timeouts = delta(1, 'linkmon_probe_failures_total', { target: level.target, reason: 'timeout' });
        const [start, end] = [before[0]!, after[0]!].map((scrape) => lossInstant(scrape.from, scrape.to));
        const dropped = routerDrops!.between(dropScope(dcAddress(level.dc)), start!, end!);
        const { low, high } = binomialInterval(sent, level.ratio, CONFIDENCE);
        const reported = binomialInterval(sent, level.ratio, REPORTED_CONFIDENCE);
        const what = `${level.target}: ${lost} of ${sent} lost, router dropped ${dropped.low}..${dropped.high}; interval ${CONFIDENCE * 100}% [${low}, ${high}], 95% [${reported.low}, ${reported.high}]`;
        expect(sent, what).toBeGreaterThan(LOSS_WINDOW_SECONDS * ECHOES_PER_SECOND * 0.9);
        expect(lost, what).toBeGreaterThanOrEqual(dropped.low);
        expect(lost, what).toBeLessThanOrEqual(dropped.high);
        expect(lost, what).toBeGreaterThanOrEqual(low);
        expect(lost, what).toBeLessThanOrEqual(high);
        expect(timeouts, what).toBe(lost);
      }
    });

    it('probes TCP and HTTP targets in the dc successfully', () => {
      for (const target of ['tcp-dc', 'http-dc']) {
        expect(delta(1, 'linkmon_probe_attempts_total', { target }), target).toBeGreaterThanOrEqual(LOSS_WINDOW_SECONDS - 2);
        expect(delta(1, 'linkmon_probe_failures_total', { target }), target).toBe(0);
        expect(sumSamples(after[0]!.samples, 'linkmon_probe_success', { target }), target).toBe(1);
      }
      expect(sumSamples(after[0]!.samples, 'linkmon_http_status_code', { target: 'http-dc' })).toBe(200);
    });

    it('exports a histogram whose median moves by the injected delay (to bucket resolution)', () => {
      const medianMs = (target: string) => {
        const buckets: CumulativeBucket[] = after[1]!.samples
          .filter((s) => s.name === 'linkmon_probe_duration_seconds_bucket' && s.labels.target === target)
          .map((s) => ({ upperBound: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value - sumSamples(before[1]!.samples, s.name, s.labels) }));
        return histogramQuantile(0.5, buckets) * 1000;
      };
      // Linear interpolation inside a 4% bucket can be off by up to the bucket's width; the exact
      // 0.3 ms check uses raw RTTs above.
      const bucketResolutionMs = 0.04 * (DELAY_MS + 1);
      const [base, delayed] = [medianMs('rtt-base'), medianMs('rtt-delayed')];
      expect(Math.abs(delayed - base - DELAY_MS), `base ${base} ms, delayed ${delayed} ms`).toBeLessThan(0.3 + bucketResolutionMs);
    });

    it('evaluates the docs/metrics.md PromQL loss expression in a real Prometheus to the router-counted loss', async () => {
      const series = await prometheus!.waitForSeries('linkmon_probe_attempts_total{kind="icmp"}', 20_000);
      expect(series.map((s) => s.metric.target).sort()).toEqual(['icmp-bh', 'loss-0', 'loss-10', 'loss-2']);
      // The window ends with the test's own window and starts >= 10 s after the agent did: increase()
      // extrapolates a counter that was still 0 at the window's first sample differently, so the ratio
      // below equals failures/attempts between the first and last sample unless the agent had lost
      // nothing at all before (P ~ e^-10 at 2%).
      const window = '12s';
      const lossExpression = docsLossExpression().replaceAll('[5m]', `[${window}]`);
      const samplesOf = (selector: string) => prometheus!.querySamples(`${selector}[${window}]`, windowEnd);
      const [loss, attempts, failures, scrapeDurations] = await Promise.all([
        prometheus!.query(lossExpression, windowEnd),
        samplesOf('linkmon_probe_attempts_total{kind="icmp"}'),
        samplesOf('linkmon_probe_failures_total{kind="icmp"}'),
        samplesOf('scrape_duration_seconds{job="linkmon"}'),
      ]);
      const durationAt = new Map(scrapeDurations[0]?.values.map(([t, v]) => [t, Number(v)]));
      /** Prometheus stamps a sample with its scrape's start (aligned by up to 2 ms); the agent read its counters before the scrape's end. */
      const scrapeInstant = (t: number): Instant => {
        const duration = durationAt.get(t);
        if (duration === undefined) throw new Error(`no scrape_duration_seconds sample at ${t}`);
        return lossInstant(t * 1000 - 2, (t + duration) * 1000 + 2);
      };
      for (const level of LOSS_LEVELS) {
        const samples = attempts.find((s) => s.metric.target === level.target)?.values ?? [];
        const [first, last] = [samples[0]?.[0] ?? NaN, samples.at(-1)?.[0] ?? NaN];
        /** The target's counter (summed over its series, e.g. failure reasons) in the scrape at t. */
        const counterAt = (matrix: MatrixSeries[], t: number) =>
          matrix.filter((s) => s.metric.target === level.target).reduce((sum, s) => sum + Number(s.values.find(([time]) => time === t)?.[1] ?? NaN), 0);
        const sent = counterAt(attempts, last) - counterAt(attempts, first);
        const lost = counterAt(failures, last) - counterAt(failures, first);
        const ratio = Number(loss.find((s) => s.metric.target === level.target)?.value[1]);
        const dropped = routerDrops!.between(dropScope(dcAddress(level.dc)), scrapeInstant(first), scrapeInstant(last));
        const { low, high } = binomialInterval(sent, level.ratio, CONFIDENCE);
        const reported = binomialInterval(sent, level.ratio, REPORTED_CONFIDENCE);
        const what =
          `${level.target}: PromQL loss ${ratio} (samples ${first}..${last}: ${lost} of ${sent}), router dropped ${dropped.low}..${dropped.high}; ` +
          `interval ${CONFIDENCE * 100}% [${low / sent}, ${high / sent}], 95% [${reported.low / sent}, ${reported.high / sent}]`;
        expect(sent, what).toBeGreaterThan(ECHOES_PER_SECOND * 9);
        // Same window: the ratio is what the router dropped between the instants those two scrapes cover.
        expect(ratio, what).toBeGreaterThanOrEqual(dropped.low / sent - 1e-9);
        expect(ratio, what).toBeLessThanOrEqual(dropped.high / sent + 1e-9);
        expect(ratio, what).toBeGreaterThanOrEqual(low / sent - 1e-9);
        expect(ratio, what).toBeLessThanOrEqual(high / sent + 1e-9);
      }
    });

    it('shows a blackholed target failing with reason timeout while the others keep reporting', async () => {
      const site1 = agents[0]!;
      await lab.blackhole(dcAddress(BLACKHOLED_DC));
      await sleep(1500);
      const start = await site1.scrape();
      await sleep(2500);
      const end = await site1.scrape();
      const grew = (name: string, labels: Record<string, string>) => sumSamples(end, name, labels) - sumSamples(start, name, labels);
      for (const target of ['icmp-bh', 'tcp-bh']) {
        expect(grew('linkmon_probe_failures_total', { target, reason: 'timeout' }), target).toBeGreaterThan(0);
        expect(grew('linkmon_probe_failures_total', { target }), target).toBe(grew('linkmon_probe_failures_total', { target, reason: 'timeout' }));
        expect(sumSamples(end, 'linkmon_probe_success', { target }), target).toBe(0);
      }
      for (const target of ['loss-0', 'tcp-dc', 'http-dc']) {
        expect(grew('linkmon_probe_attempts_total', { target }), target).toBeGreaterThan(0);
        expect(grew('linkmon_probe_failures_total', { target }), target).toBe(0);
        expect(sumSamples(end, 'linkmon_probe_success', { target }), target).toBe(1);
      }
    });
    it(`raises the jitter gauge when ±${JITTER_MS} ms jitter is injected`, async () => {
      // Fewer processes competing for the CPU: event-loop delays are jitter too.
      await prometheus?.stop();
      prometheus = undefined;
      await agents[0]!.process.stop();
      /**
       * Mean of readings 0.2 s apart: the gauge is an EWMA over ~16 echoes, so one reading is noisy. Over
       * 4 s (20 readings) the mean of the jittered twin has a standard deviation of ~0.07 ms (simulated:
       * 2 s gave 0.10 ms, i.e. a 1-in-3000 miss of the 0.75 × 1.33 ms bound below; 4 s: z > 4.5).
       */
      const jitterMs = async (readingCount: number) => {
        const readings = { control: [] as number[], jittered: [] as number[] };
        for (let i = 0; i < readingCount; i++) {
          const samples = await agents[1]!.scrape();
          readings.control.push(sumSamples(samples, 'linkmon_probe_jitter_seconds', { target: 'rtt-delayed' }) * 1000);
          readings.jittered.push(sumSamples(samples, 'linkmon_probe_jitter_seconds', { target: 'rtt-jittered' }) * 1000);
          await sleep(200);
        }
        return { control: mean(readings.control), jittered: mean(readings.jittered) };
      };
      const before = await jitterMs(5);
      await lab.setDelay('site_to_dc', { ms: DELAY_MS, jitterMs: JITTER_MS }, { site: 2, dcAddress: dcAddress(TWINS.jittered) });
      // The RFC 3550 estimator moves 1/16 of the way per echo: 50 echoes in 1 s is ample.
      await sleep(1000);
      const after = await jitterMs(20);
      // Uniform ±J one way gives E|D(i) - D(i-1)| = 2J/3 (1.33 ms for ±2 ms) on a quiet box. On a busy
      // one the agent's own scheduling delays are jitter too, and they do not simply add up with the
      // injected jitter, so the rise is judged against the twin probed at the same time without it.
      const expected = (2 * JITTER_MS) / 3;
      const what = `before ${JSON.stringify(before)}, after ${JSON.stringify(after)} (ms)`;
      expect(after.jittered, what).toBeGreaterThan(0.75 * expected);
      expect(after.jittered - after.control, what).toBeGreaterThan(0.25 * expected);
    });
  });
});

/** The loss expression exactly as docs/metrics.md documents it. */
function docsLossExpression(): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs/metrics.md'), 'utf8');
  const block = /Loss over any window[^\n]*\n+```promql\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/metrics.md: no promql block after "Loss over any window"');
  return block.trim();
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
