// The SNMP poller against a real Debian snmpd on the lab's wan router, with a real Prometheus.
// Needs root and the Debian packages snmpd, snmp, iperf3, iproute2 and prometheus
// (scripts/test-host-setup.sh). The agent runs in the dc namespace and polls the router over the
// dc link; the measured interface is the router's site1 link, which SNMP traffic does not cross.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capacityNames, capacityRuleGroups } from '../../../alerts/src/capacity.js';
import { alertsConfig, type AlertsConfig } from '../../../alerts/src/config.js';
import { createLab, type Lab } from '../../lab/lab.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../../support/exposition.js';
import { startLinkmon, waitFor, type LinkmonProcess } from '../../support/linkmon-process.js';
import { startPrometheus, staticScrape, type PrometheusInstance } from '../../support/prometheus.js';
import { kernelBytes, startSnmpd, type Snmpd } from '../../support/snmpd-lab.js';

const SNMP_PORT = 1161;
const AGENT_PORT = 9470;
const ROUTER = '198.18.100.1';
const COMMUNITY = `lab-${randomBytes(6).toString('hex')}`;
const V3 = { user: 'linkmon', authPassword: `auth-${randomBytes(6).toString('hex')}`, privPassword: `priv-${randomBytes(6).toString('hex')}` };
const LINK_CAPACITY_BPS = 100e6;
/** The rule's rate window, shortened from 5m so the test needs seconds of steady traffic, not minutes. */
const RULE_WINDOW_SECONDS = 20;

let lab: Lab;
let snmpd: Snmpd;
let agent: LinkmonProcess;
let metricsUrl: string;
let dir: string;

function agentConfig(communityFile: string): string {
  const fast = { interval: '1s', timeout: '300ms', retries: 0 };
  return stringify({
    site: { id: 'dc', name: 'Data centre' },
    listen: { address: '127.0.0.1', port: AGENT_PORT },
    log: { level: 'info' },
    modules: { tcp: { kind: 'tcp', interval: '60s', timeout: '1s' } },
    targets: [{ name: 'router', module: 'tcp', host: ROUTER, port: 1 }],
    snmp: {
      devices: [
        { name: 'router', address: ROUTER, port: SNMP_PORT, version: 'v2c', community_file: communityFile, ...fast, interfaces: [{ if_name: 'site1' }, { if_name: 'dc' }] },
        {
          name: 'router-v3',
          address: ROUTER,
          port: SNMP_PORT,
          version: 'v3',
          v3: { user: V3.user, auth_protocol: 'sha', auth_password_env: 'LAB_V3_AUTH', priv_protocol: 'aes', priv_password_env: 'LAB_V3_PRIV' },
          ...fast,
          interfaces: [{ name: 'site1', if_alias: 'HSL to CAID' }],
        },
        { name: 'wrong-community', address: ROUTER, port: SNMP_PORT, version: 'v2c', community_env: 'LAB_WRONG_COMMUNITY', ...fast, interfaces: [{ if_name: 'site1' }] },
        {
          name: 'wrong-password',
          address: ROUTER,
          port: SNMP_PORT,
          version: 'v3',
          v3: { user: V3.user, auth_password_env: 'LAB_WRONG_AUTH', priv_password_env: 'LAB_V3_PRIV' },
          ...fast,
          interfaces: [{ name: 'site1', if_alias: 'HSL to CAID' }],
        },
        {
          name: 'probe-router',
          address: ROUTER,
          port: SNMP_PORT,
          version: 'v2c',
          community_file: communityFile,
          ...fast,
          interfaces: [{ if_name: 'lmprobe0' }, { name: 'probe', if_alias: 'probe link' }],
        },
      ],
    },
    links: [{ name: 'hsl', interfaces: [{ device: 'router', interface: 'site1' }], capacity: LINK_CAPACITY_BPS }],
  });
}

/**
 * Interface descriptions (ifAlias) as a router's config would have them. snmpd does not read the
 * kernel's alias and forgets SNMP-set ones on restart, so they are set again after each start.
 */
async function setAliases(): Promise<void> {
  for (const [iface, alias] of [['site1', 'HSL to CAID'], ['lmprobe1', 'probe link']] as const) await setAlias(iface, alias);
}

async function setAlias(iface: string, alias: string): Promise<void> {
  const ifIndex = (await lab.exec(lab.wan, ['cat', `/sys/class/net/${iface}/ifindex`])).stdout.trim();
  await snmpd.set(`1.3.6.1.2.1.31.1.1.1.18.${ifIndex}`, 's', alias);
}

const scrape = async (): Promise<ExpositionSample[]> => parseExposition(await (await fetch(metricsUrl)).text());
const value = (samples: ExpositionSample[], name: string, labels: Record<string, string>) => sumSamples(samples, name, labels);
const bytes = (samples: ExpositionSample[], device: string, direction: 'in' | 'out') =>
  value(samples, 'linkmon_interface_bytes_total', { device, interface: 'site1', direction });
const polls = async (device: string) => value(await scrape(), 'linkmon_snmp_polls_total', { device });

/** Waits until `device` has finished `count` more polls than now. */
async function morePolls(device: string, count: number): Promise<void> {
  const start = await polls(device);
  await waitFor(`${count} more polls of ${device}`, async () => ((await polls(device)) >= start + count ? true : undefined), 20_000, 200);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linkmon-snmp-lab-'));
  lab = await createLab({ sites: 1 });
  // Spare interfaces to rename and re-create (veth pairs: this kernel has no dummy driver).
  for (const name of ['lmprobe0', 'lmprobe1']) {
    await lab.exec(lab.wan, ['sh', '-c', `ip link add ${name} type veth peer name ${name}p && ip link set ${name} up && ip link set ${name}p up`]);
  }
  snmpd = await startSnmpd({ lab, ns: lab.wan, addresses: [ROUTER], port: SNMP_PORT, community: COMMUNITY, clients: '198.18.100.0/24', v3: V3 });
  await setAliases();
  const communityFile = join(dir, 'community');
  writeFileSync(communityFile, `${COMMUNITY}\n`, { mode: 0o600 });
  const configFile = join(dir, 'agent.yml');
  writeFileSync(configFile, agentConfig(communityFile));
  chmodSync(dir, 0o700);
  agent = startLinkmon(['agent', '--config', configFile], {
    netns: lab.dc,
    env: { LAB_V3_AUTH: V3.authPassword, LAB_V3_PRIV: V3.privPassword, LAB_WRONG_COMMUNITY: 'not-the-community', LAB_WRONG_AUTH: 'not-the-password' },
  });
  const bridge = await lab.bridge(lab.dc, AGENT_PORT);
  metricsUrl = `http://${bridge.hostPort}/metrics`;
  await waitFor(
    'first successful polls',
    async () => {
      const samples = await scrape();
      const ok = ['router', 'router-v3', 'probe-router'].every((device) => value(samples, 'linkmon_snmp_poll_success', { device }) === 1);
      return ok ? true : undefined;
    },
    30_000,
    250,
  );
}, 90_000);

afterAll(async () => {
  if (process.env.DEBUG_SNMP_LAB) console.log(agent?.output());
  await agent?.stop();
  await lab?.destroy();
  snmpd?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SNMP poller against snmpd in the lab', () => {
  it('counts the octets the kernel counted on the router interface, within 1%, over v2c and v3 (authPriv SHA/AES, by ifAlias)', async () => {
    const server = lab.spawn(lab.dc, ['iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
    try {
      await morePolls('router', 2);
      const before = await scrape();
      const kernelBefore = await kernelBytes(lab, lab.wan, 'site1');
      // A bounded transfer each way: 30 MiB upload (site1 rx = in), 30 MiB download (site1 tx = out).
      await waitFor('iperf3 server', async () => ((await lab.exec(lab.site(), ['iperf3', '-c', lab.dcAddress(), '-p', '5201', '-n', '30M'], { allowFailure: true })).code === 0 ? true : undefined), 15_000, 300);
      await lab.exec(lab.site(), ['iperf3', '-c', lab.dcAddress(), '-p', '5201', '-n', '30M', '-R']);
      await morePolls('router', 2);
      await morePolls('router-v3', 2);
      const kernelAfter = await kernelBytes(lab, lab.wan, 'site1');
      const after = await scrape();
      const kernel = { in: kernelAfter.rx - kernelBefore.rx, out: kernelAfter.tx - kernelBefore.tx };
      // iperf3 ends a test once the client has written its bytes, so the tail may not cross: the
      // comparison is with what the kernel counted, not with 30 MiB.
      expect(kernel.in).toBeGreaterThan(20e6);
      expect(kernel.out).toBeGreaterThan(20e6);
      for (const device of ['router', 'router-v3']) {
        for (const direction of ['in', 'out'] as const) {
          const counted = bytes(after, device, direction) - bytes(before, device, direction);
          if (process.env.DEBUG_SNMP_LAB) console.log({ device, direction, counted, kernel: kernel[direction] });
          expect(Math.abs(counted - kernel[direction]) / kernel[direction], `${device} ${direction}: counted ${counted}, kernel ${kernel[direction]}`).toBeLessThan(0.01);
        }
      }
      expect(value(after, 'linkmon_interface_speed_bytes', { device: 'router', interface: 'site1' })).toBe(10_000e6 / 8);
      expect(value(after, 'linkmon_interface_up', { device: 'router', interface: 'site1' })).toBe(1);
      expect(value(after, 'linkmon_link_capacity_bytes', { link: 'hsl' })).toBe(LINK_CAPACITY_BPS / 8);
    } finally {
      server.kill('SIGTERM');
    }
  }, 60_000);

  it('gives a utilisation recording rule within 2% of the rate the kernel counted, in a real Prometheus', async () => {
    const config: AlertsConfig = { ...alertsConfig, capacity: { ...alertsConfig.capacity, window: `${RULE_WINDOW_SECONDS}s` } };
    const names = capacityNames(config);
    const groups = capacityRuleGroups(config).filter((g) => g.name === 'linkmon-capacity.rules');
    let prometheus: PrometheusInstance | undefined;
    const server = lab.spawn(lab.dc, ['iperf3', '-s', '-p', '5202'], { stdio: 'ignore' });
    try {
      prometheus = await startPrometheus({
        netns: lab.dc,
        scrapeConfigs: [staticScrape('linkmon', [`127.0.0.1:${AGENT_PORT}`])],
        ruleYaml: [stringify({ groups }, { lineWidth: 0 })],
      });
      const utilisation = `${names.utilisationByDirection}{link="hsl",direction="in"}`;
      await prometheus.waitForSeries(utilisation, 30_000);
      // Constant-rate UDP, 40 Mbit/s of payload from the site for long enough to fill the window twice over.
      const seconds = RULE_WINDOW_SECONDS + 12;
      const client = lab.spawn(lab.site(), ['chrt', '--fifo', '5', 'iperf3', '-c', lab.dcAddress(), '-p', '5202', '-u', '-b', '40M', '-l', '1400', '-t', String(seconds)], { stdio: 'ignore' });
      const done = new Promise((resolve) => client.once('exit', resolve));
      await new Promise((r) => setTimeout(r, 4_000));
      const k1 = { at: Date.now() / 1000, ...(await kernelBytes(lab, lab.wan, 'site1')) };
      await new Promise((r) => setTimeout(r, (RULE_WINDOW_SECONDS + 4) * 1000));
      const k2 = { at: Date.now() / 1000, ...(await kernelBytes(lab, lab.wan, 'site1')) };
      const recorded = await prometheus.queryValue(utilisation);
      client.kill('SIGTERM');
      await done;
      if (process.env.DEBUG_SNMP_LAB) console.log({ recorded, kernelRatio: (k2.rx - k1.rx) / (k2.at - k1.at) / (LINK_CAPACITY_BPS / 8) });
      const kernelRatio = (k2.rx - k1.rx) / (k2.at - k1.at) / (LINK_CAPACITY_BPS / 8);
      expect(kernelRatio).toBeGreaterThan(0.35);
      expect(recorded).toBeDefined();
      expect(Math.abs(recorded! - kernelRatio) / kernelRatio, `recorded ${recorded}, kernel ${kernelRatio}`).toBeLessThan(0.02);
    } finally {
      server.kill('SIGTERM');
      await prometheus?.stop();
    }
  }, 90_000);

  it('reports a wrong community as a timeout and a wrong v3 password as auth, while the other devices poll on', async () => {
    await morePolls('wrong-password', 2);
    const samples = await scrape();
    expect(value(samples, 'linkmon_snmp_poll_success', { device: 'wrong-community' })).toBe(0);
    expect(value(samples, 'linkmon_snmp_poll_failures_total', { device: 'wrong-community', reason: 'timeout' })).toBeGreaterThan(0);
    expect(value(samples, 'linkmon_snmp_poll_success', { device: 'wrong-password' })).toBe(0);
    expect(value(samples, 'linkmon_snmp_poll_failures_total', { device: 'wrong-password', reason: 'auth' })).toBeGreaterThan(0);
    expect(value(samples, 'linkmon_snmp_poll_success', { device: 'router' })).toBe(1);
    const output = agent.output();
    expect(output).toMatch(/"device":"wrong-community".*SNMP poll failed: no response within 0.3s \(1 try\)/);
    expect(output).toMatch(/"device":"wrong-password".*SNMP poll failed: SNMPv3 request rejected by the device: Wrong Digest/);
  });

  it('notices a renamed interface and one re-created under a new ifIndex, without counting across either', async () => {
    // Renamed: the description (ifAlias) a link is selected by changes. (net-snmp keeps a kernel rename
    // out of ifName, so the description is how a rename shows up here, as it does on routers.)
    const renamed = { device: 'probe-router', interface: 'probe' };
    await setAlias('lmprobe1', 'probe link (spare)');
    await waitFor('the renamed interface reported missing', async () => (value(await scrape(), 'linkmon_interface_resolved', renamed) === 0 ? true : undefined), 10_000, 200);
    let samples = await scrape();
    expect(value(samples, 'linkmon_snmp_poll_success', { device: 'probe-router' })).toBe(0);
    expect(value(samples, 'linkmon_snmp_poll_failures_total', { device: 'probe-router', reason: 'no_such_interface' })).toBeGreaterThan(0);
    expect(agent.output()).toMatch(/SNMP poll failed: no interface matches probe \(if_alias=\\"probe link\\"\): renamed, renumbered or removed/);
    await setAlias('lmprobe1', 'probe link');
    await waitFor('the interface found again', async () => (value(await scrape(), 'linkmon_snmp_poll_success', { device: 'probe-router' }) === 1 ? true : undefined), 10_000, 200);
    await morePolls('probe-router', 1);

    // Deleted and re-created between two polls: same name, new ifIndex, counters from zero.
    const recreated = { device: 'probe-router', interface: 'lmprobe0' };
    const renumberedBefore = value(await scrape(), 'linkmon_interface_counter_discontinuities_total', { ...recreated, cause: 'renumbered' });
    await lab.exec(lab.wan, ['sh', '-c', 'ip link del lmprobe0 && ip link add lmprobe0 type veth peer name lmprobe0p && ip link set lmprobe0 up && ip link set lmprobe0p up']);
    await waitFor(
      'a renumbered discontinuity',
      async () => (value(await scrape(), 'linkmon_interface_counter_discontinuities_total', { ...recreated, cause: 'renumbered' }) > renumberedBefore ? true : undefined),
      10_000,
      200,
    );
    samples = await scrape();
    expect(value(samples, 'linkmon_interface_resolved', recreated)).toBe(1);
    expect(value(samples, 'linkmon_snmp_poll_success', { device: 'probe-router' })).toBe(1);
  });

  it('reports snmpd stopped, keeps running, and after the restart re-baselines (sysUpTime went back) instead of counting', async () => {
    const rebootsBefore = value(await scrape(), 'linkmon_interface_counter_discontinuities_total', { device: 'router', interface: 'site1', cause: 'reboot' });
    const bytesBefore = bytes(await scrape(), 'router', 'in');
    await snmpd.stop();
    await waitFor('router polls failing', async () => (value(await scrape(), 'linkmon_snmp_poll_success', { device: 'router' }) === 0 ? true : undefined), 10_000, 200);
    await morePolls('router', 2);
    const down = await scrape();
    // The kernel answers ICMP port unreachable (rate-limited; the rest time out).
    const failed = value(down, 'linkmon_snmp_poll_failures_total', { device: 'router', reason: 'refused' }) + value(down, 'linkmon_snmp_poll_failures_total', { device: 'router', reason: 'timeout' });
    expect(failed).toBeGreaterThan(0);
    expect(agent.output()).toMatch(/"device":"router".*SNMP poll failed: (ICMP port unreachable|no response within)/);
    expect(agent.child.exitCode).toBeNull();

    await snmpd.start();
    await setAliases();
    await waitFor(
      'router and router-v3 polled again',
      async () => {
        const samples = await scrape();
        return ['router', 'router-v3'].every((device) => value(samples, 'linkmon_snmp_poll_success', { device }) === 1) ? true : undefined;
      },
      15_000,
      200,
    );
    const up = await scrape();
    expect(value(up, 'linkmon_interface_counter_discontinuities_total', { device: 'router', interface: 'site1', cause: 'reboot' })).toBe(rebootsBefore + 1);
    // Nothing was invented: the link was idle, so at most a few kilobytes (ARP, the TCP probe) were counted.
    expect(bytes(up, 'router', 'in') - bytesBefore).toBeLessThan(10_000);
    expect(agent.output()).toMatch(/"device":"router".*device restarted \(sysUpTime went back\)/);
  });

  it('never writes a community or password to its log or its metrics', async () => {
    const text = await (await fetch(metricsUrl)).text();
    for (const secret of [COMMUNITY, V3.authPassword, V3.privPassword, 'not-the-community', 'not-the-password']) {
      expect(agent.output()).not.toContain(secret);
      expect(text).not.toContain(secret);
    }
  });
});
