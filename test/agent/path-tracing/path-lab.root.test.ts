// Lab test: needs root and the Debian packages iproute2, nftables and traceroute
// (scripts/test-host-setup.sh). The real agent runs in the site namespace of a chain of three router
// namespaces (test/lab/router-chain.ts) and traces the path to the dc every second. Its hops must
// be the ones Debian's traceroute sees; a route change mid-test adds exactly one to the path-change
// counter and changes the hop count; a blackhole at hop 2 leaves hop 1 as the last responding hop;
// a routing loop is a failure with reason loop, and the agent keeps running.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAIN, createRouterChain, type RouterChain } from '../../lab/router-chain.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../../support/exposition.js';
import { startLinkmon, waitFor, type LinkmonProcess } from '../../support/linkmon-process.js';

const AGENT_PORT = 9470;
const TARGET = { target: 'dc', link: 'hsl' };

describe('path tracing through a chain of router namespaces', () => {
  let chain: RouterChain;
  let agent: LinkmonProcess;
  let dir: string;
  let metricsUrl: string;
  const scrape = async () => parseExposition(await (await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) })).text());
  const value = (samples: ExpositionSample[], name: string, labels: Record<string, string> = {}) => sumSamples(samples, name, { ...TARGET, ...labels });
  const hopAddresses = (samples: ExpositionSample[]) =>
    samples
      .filter((s) => s.name === 'linkmon_path_hop_info' && s.labels.target === 'dc')
      .sort((a, b) => Number(a.labels.hop) - Number(b.labels.hop))
      .map((s) => `${s.labels.hop} ${s.labels.address}`);
  /** Scrapes until `check` holds for a trace that ended after this call (the traces counter moved on by 2). */
  const afterNextTraces = async (what: string, check: (samples: ExpositionSample[]) => boolean) => {
    const start = value(await scrape(), 'linkmon_path_traces_total');
    return waitFor(what, async () => {
      const samples = await scrape();
      return value(samples, 'linkmon_path_traces_total') >= start + 2 && check(samples) ? samples : undefined;
    }, 20_000, 200);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-path-lab-'));
    chain = await createRouterChain();
    const config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      [
        'site: { id: labsite, name: Lab site }',
        `listen: { address: 127.0.0.1, port: ${AGENT_PORT} }`,
        'log: { level: info }',
        'modules: { tcp: { kind: tcp, port: 9, interval: 5s } }',
        'targets:',
        `  - { name: dc, module: tcp, host: ${CHAIN.dc}, labels: { link: hsl } }`,
        'path_tracing: { interval: 1s, timeout: 150ms, max_hops: 6, probes: 2, targets: [dc] }',
        '',
      ].join('\n'),
    );
    agent = startLinkmon(['agent', '--config', config], { netns: chain.site });
    const bridge = await chain.bridge(chain.site, AGENT_PORT, '127.0.0.1');
    metricsUrl = `http://${bridge.hostPort}/metrics`;
    await waitFor('the first trace', async () => (value(await scrape(), 'linkmon_path_traces_total') >= 1 ? true : undefined), 30_000, 200);
  }, 60_000);

  afterAll(async () => {
    try {
      await agent?.stop();
      await chain?.destroy();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds the hops Debian's traceroute finds: 4 hops through r2", async () => {
    const samples = await scrape();
    expect(sumSamples(samples, 'linkmon_path_tracing_available')).toBe(1);
    expect(value(samples, 'linkmon_path_hop_count')).toBe(4);
    expect(value(samples, 'linkmon_path_last_responding_hop')).toBe(4);
    expect(hopAddresses(samples)).toEqual(CHAIN.hopsThroughR2.map((address, i) => `${i + 1} ${address}`));
    const { stdout } = await chain.exec(chain.site, ['traceroute', '-n', '-q', '1', '-w', '1', '-m', '6', CHAIN.dc]);
    const traceroute = [...stdout.matchAll(/^\s*(\d+)\s+(\d+\.\d+\.\d+\.\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(hopAddresses(samples)).toEqual(traceroute);
    for (const hop of ['1', '2', '3', '4']) expect(value(samples, 'linkmon_path_hop_rtt_seconds', { hop })).toBeGreaterThan(0);
  });

  it('a route change mid-test: the path-change counter goes up by exactly 1 and the hop count changes', async () => {
    const before = value(await scrape(), 'linkmon_path_changes_total');
    await chain.useBypass(true);
    try {
      const after = await afterNextTraces('3 hops on the bypass', (s) => value(s, 'linkmon_path_hop_count') === 3);
      expect(value(after, 'linkmon_path_changes_total')).toBe(before + 1);
      expect(hopAddresses(after)).toEqual(CHAIN.hopsOnBypass.map((address, i) => `${i + 1} ${address}`));
    } finally {
      await chain.useBypass(false);
    }
    const back = await afterNextTraces('4 hops through r2 again', (s) => value(s, 'linkmon_path_hop_count') === 4);
    expect(value(back, 'linkmon_path_changes_total')).toBe(before + 2);
  });

  it('a blackhole at hop 2: the last responding hop is 1, the trace fails as unreached, the path has not changed', async () => {
    const before = await scrape();
    await chain.blackhole(2, true);
    try {
      const dark = await afterNextTraces('the blackhole seen', (s) => value(s, 'linkmon_path_last_responding_hop') === 1);
      expect(value(dark, 'linkmon_path_hop_count')).toBe(0);
      expect(value(dark, 'linkmon_path_trace_failures_total', { reason: 'unreached' })).toBeGreaterThan(value(before, 'linkmon_path_trace_failures_total', { reason: 'unreached' }));
      expect(value(dark, 'linkmon_path_changes_total')).toBe(value(before, 'linkmon_path_changes_total'));
      expect(hopAddresses(dark)).toEqual([`1 ${CHAIN.hopsThroughR2[0]}`]);
      // Hop 2 and beyond: every probe lost.
      expect(value(dark, 'linkmon_path_hop_probes_lost_total', { hop: '2' })).toBeGreaterThan(value(before, 'linkmon_path_hop_probes_lost_total', { hop: '2' }));
      expect(agent.output()).toContain(`not traced to the end (last answer from hop 1 (${CHAIN.hopsThroughR2[0]}))`);
    } finally {
      await chain.blackhole(2, false);
    }
    await afterNextTraces('the path back', (s) => value(s, 'linkmon_path_hop_count') === 4);
  });

  it('a routing loop: a failure with reason loop and a log line saying where, and the agent keeps running', async () => {
    const before = value(await scrape(), 'linkmon_path_trace_failures_total', { reason: 'loop' });
    await chain.loop(true);
    try {
      const looping = await afterNextTraces('the loop seen', (s) => value(s, 'linkmon_path_trace_failures_total', { reason: 'loop' }) > before);
      expect(value(looping, 'linkmon_path_hop_count')).toBe(0);
      expect(agent.output()).toContain(`routing loop: ${CHAIN.hopsThroughR2[0]} answered at hops 1 and 3`);
    } finally {
      await chain.loop(false);
    }
    await afterNextTraces('the path back', (s) => value(s, 'linkmon_path_hop_count') === 4);
    expect(agent.child.exitCode).toBeNull();
  });
});
