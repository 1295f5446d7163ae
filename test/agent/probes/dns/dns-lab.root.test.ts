// The DNS probe kind end to end in the network lab: the real agent in a site namespace asks a real
// dnsmasq in the dc namespace, across the wan router with a delay line. Needs root and the Debian
// packages iproute2, nftables, python3 (the lab) and dnsmasq-base (scripts/test-host-setup.sh).
//
// Targets: resolver (dnsmasq on dc address 1, port 53, 20 ms added one way) over UDP and over TCP,
// a name it does not know (NXDOMAIN), a dc address where nothing listens on 53 (the dc answers
// port unreachable, within its ICMP rate limit: refused, else timeout) and a blackholed one
// (timeout). The delay is one way only, so an answer takes one crossing of it: at least 20 ms, and
// well under the 40 ms that a second exchange (or a TCP handshake first) would take.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumSamples, type ExpositionSample } from '../../../support/exposition.js';
import { histogramQuantile, type CumulativeBucket } from '../../../support/stats/histogram-quantile.js';
import { startDnsmasq, type Dnsmasq } from '../../../support/dnsmasq.js';
import { startLinkmon, waitFor, type LinkmonProcess } from '../../../support/linkmon-process.js';
import { createLab, type Lab } from '../../../lab/lab.js';

const AGENT_PORT = 9470;
const DELAY_MS = 20;
const RUN_SECONDS = 5;

function quantileMs(samples: ExpositionSample[], target: string, q: number): number {
  const buckets: CumulativeBucket[] = samples
    .filter((s) => s.name === 'linkmon_probe_duration_seconds_bucket' && s.labels.target === target)
    .map((s) => ({ upperBound: s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.upperBound - b.upperBound);
  return histogramQuantile(q, buckets) * 1000;
}

describe('DNS probes across the lab WAN', () => {
  let lab: Lab;
  let dir: string;
  let dnsmasq: Dnsmasq | undefined;
  let agent: LinkmonProcess | undefined;
  let samples: ExpositionSample[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-dns-lab-'));
    lab = await createLab({ sites: 1, dcAddresses: 3 });
    dnsmasq = await startDnsmasq({ netns: lab.dc, address: lab.dcAddress(1), port: 53, records: [`--host-record=caid-portal.lab.test,${lab.dcAddress(2)}`] });
    await lab.setDelay('site_to_dc', { ms: DELAY_MS }, { dcAddress: lab.dcAddress(1) });
    await lab.blackhole(lab.dcAddress(3));
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      `site: { id: lab1, name: Lab site 1 }
listen: { address: 127.0.0.1, port: ${AGENT_PORT} }
modules:
  portal: { kind: dns, interval: 500ms, timeout: 500ms, query_name: caid-portal.lab.test, validate_answer_rrs: { fail_if_not_matches_regexp: ['\\tA\\t${lab.dcAddress(2).replace(/\./g, '\\.')}$'] } }
  portal_tcp: { kind: dns, interval: 500ms, timeout: 500ms, query_name: caid-portal.lab.test, transport_protocol: tcp }
  missing: { kind: dns, interval: 500ms, timeout: 500ms, query_name: missing.lab.test }
targets:
  - { name: resolver, module: portal, host: ${lab.dcAddress(1)} }
  - { name: resolver-tcp, module: portal_tcp, host: ${lab.dcAddress(1)} }
  - { name: resolver-missing, module: missing, host: ${lab.dcAddress(1)} }
  - { name: no-resolver, module: portal, host: ${lab.dcAddress(2)} }
  - { name: blackholed, module: portal, host: ${lab.dcAddress(3)} }
`,
    );
    agent = startLinkmon(['agent', '--config', file], { netns: lab.site() });
    await waitFor('the agent serving metrics', () => (/serving metrics/.test(agent!.output()) ? true : undefined), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent!.output()}`);
    });
    const bridge = await lab.bridge(lab.site(), AGENT_PORT);
    await new Promise((resolve) => setTimeout(resolve, RUN_SECONDS * 1000));
    samples = parseExposition(await (await fetch(`http://${bridge.hostPort}/metrics`)).text());
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await dnsmasq?.stop();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const count = (name: string, labels: Record<string, string>) => sumSamples(samples, name, labels);

  it('answers over UDP and TCP; NXDOMAIN, port unreachable and a blackhole are reasons', () => {
    const attempts = (target: string) => count('linkmon_probe_attempts_total', { target });
    const failures = (target: string, reason?: string) => count('linkmon_probe_failures_total', { target, ...(reason ? { reason } : {}) });
    for (const target of ['resolver', 'resolver-tcp']) {
      expect(attempts(target), target).toBeGreaterThanOrEqual(RUN_SECONDS);
      expect(failures(target), target).toBe(0);
    }
    expect(count('linkmon_dns_response_rcode', { target: 'resolver' })).toBe(0);
    expect(count('linkmon_dns_records', { target: 'resolver', section: 'answer' })).toBe(1);
    // Attempts count when they start: the scrape may fall while the last one waits for its answer.
    expect(failures('resolver-missing', 'dns_rcode')).toBeGreaterThanOrEqual(attempts('resolver-missing') - 1);
    expect(failures('resolver-missing')).toBe(failures('resolver-missing', 'dns_rcode'));
    expect(count('linkmon_probe_duration_seconds_count', { target: 'resolver-missing' })).toBe(0);
    expect(count('linkmon_dns_response_rcode', { target: 'resolver-missing' })).toBe(3);
    // The kernel rate-limits port unreachables (net.ipv4.icmp_ratelimit): at 2 queries a second some go unanswered.
    expect(failures('no-resolver', 'refused')).toBeGreaterThan(0);
    expect(failures('no-resolver', 'refused') + failures('no-resolver', 'timeout')).toBeGreaterThanOrEqual(attempts('no-resolver') - 1);
    // The last attempt of the blackholed target may still be waiting for its deadline.
    expect(failures('blackholed', 'timeout')).toBeGreaterThanOrEqual(attempts('blackholed') - 1);
    expect(count('linkmon_dns_response_rcode', { target: 'blackholed' })).toBe(-1);
  });

  it(`times the answer as one round trip across the ${DELAY_MS} ms delay`, () => {
    for (const target of ['resolver', 'resolver-tcp']) {
      const p50 = quantileMs(samples, target, 0.5);
      expect(p50, target).toBeGreaterThan(DELAY_MS);
      // UDP: query and answer. TCP: the answer time starts at the connection, so the handshake's
      // crossing adds one more delay; either way below one more than that.
      expect(p50, target).toBeLessThan((target === 'resolver' ? 2 : 3) * DELAY_MS);
    }
  });
});
