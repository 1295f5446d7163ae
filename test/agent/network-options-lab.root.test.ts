// Per-module source address, interface and DSCP (issue #14), checked on the wire: the real agent in
// a site namespace probes the dc across the lab's wan router with every kind that sends packets,
// once from a second address of the site marked EF and once plainly, while Debian's tshark
// captures on the dc's interface; every packet must carry the source and DSCP of its module.
// Needs root and the Debian packages iproute2, nftables, python3 (the lab), tshark and dnsmasq-base
// (scripts/test-host-setup.sh).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumSamples, type ExpositionSample } from '../support/exposition.js';
import { startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { createLab, type Lab } from '../lab/lab.js';
import { captureFields } from '../lab/tshark.js';

const AGENT_PORT = 9470;
const MARKED_SOURCE = '198.18.1.3';
const EF = 46;
const RUN_MS = 3000;

describe('source address, interface and DSCP on the wire', () => {
  let lab: Lab;
  let dir: string;
  let agent: LinkmonProcess | undefined;
  let packets: { source: string; destination: string; dscp: number; protocol: string }[];
  let samples: ExpositionSample[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-netopts-lab-'));
    lab = await createLab({ sites: 1, dcAddresses: 2 });
    const site = lab.site();
    await lab.exec(site, ['ip', 'addr', 'add', `${MARKED_SOURCE}/24`, 'dev', 'wan']);
    // An interface with no way to the dc (a veth pair inside the site): probes bound to it cannot
    // leave by the wan, whatever the routing table says.
    await lab.exec(site, ['ip', 'link', 'add', 'nowhere', 'type', 'veth', 'peer', 'name', 'nowhere-peer']);
    await lab.exec(site, ['ip', 'link', 'set', 'nowhere', 'up']);
    const dc = lab.dcAddress(1);
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      `site: { id: lab1, name: Lab site 1 }
listen: { address: 127.0.0.1, port: ${AGENT_PORT} }
modules:
  icmp_marked: { kind: icmp, interval: 500ms, packets: 2, timeout: 300ms, source_ip_address: ${MARKED_SOURCE}, source_interface: wan, dscp: EF }
  icmp_plain: { kind: icmp, interval: 500ms, packets: 2, timeout: 300ms }
  icmp_nowhere: { kind: icmp, interval: 500ms, packets: 1, timeout: 300ms, source_interface: nowhere }
  icmp_no_device: { kind: icmp, interval: 500ms, packets: 1, timeout: 300ms, source_interface: nosuchif0 }
  icmp_foreign_source: { kind: icmp, interval: 500ms, packets: 1, timeout: 300ms, source_ip_address: 198.18.1.99 }
targets:
  - { name: icmp-marked, module: icmp_marked, host: ${dc} }
  - { name: icmp-plain, module: icmp_plain, host: ${dc} }
  - { name: icmp-nowhere, module: icmp_nowhere, host: ${dc} }
  - { name: icmp-no-device, module: icmp_no_device, host: ${dc} }
  - { name: icmp-foreign-source, module: icmp_foreign_source, host: ${dc} }
`,
    );
    const fields = ['ip.src', 'ip.dst', 'ip.dsfield.dscp', 'frame.protocols'];
    const rows = await captureFields((ns, argv, options) => lab.spawn(ns, argv, options), lab.dc, 'wan', `src net 198.18.1.0/24`, async () => {
      agent = startLinkmon(['agent', '--config', file], { netns: site });
      await waitFor('the agent serving metrics', () => (/serving metrics/.test(agent!.output()) ? true : undefined), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${agent!.output()}`);
      });
      const bridge = await lab.bridge(site, AGENT_PORT);
      await new Promise((resolve) => setTimeout(resolve, RUN_MS));
      samples = parseExposition(await (await fetch(`http://${bridge.hostPort}/metrics`)).text());
    }, fields);
    packets = rows.map(([source = '', destination = '', dscp = '', protocols = '']) => ({ source, destination, dscp: Number(dscp), protocol: protocols.split(':').slice(2).join(':') }));
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const failures = (target: string, reason: string) => sumSamples(samples, 'linkmon_probe_failures_total', { target, reason });
  const attempts = (target: string) => sumSamples(samples, 'linkmon_probe_attempts_total', { target });

  it('marks every packet of a module with its DSCP, from its source address; others stay unmarked from the primary address', () => {
    const marked = packets.filter((p) => p.source === MARKED_SOURCE);
    const plain = packets.filter((p) => p.source !== MARKED_SOURCE);
    expect(marked.filter((p) => p.protocol.startsWith('ip:icmp')).length).toBeGreaterThanOrEqual(4);
    expect(plain.filter((p) => p.protocol.startsWith('ip:icmp')).length).toBeGreaterThanOrEqual(4);
    expect(marked.filter((p) => p.dscp !== EF)).toEqual([]);
    expect(plain.filter((p) => p.dscp !== 0 || p.source !== lab.siteAddress())).toEqual([]);
  });

  it('sends nothing out of the wan when bound to another interface; a missing interface or source address is a reason', () => {
    expect(sumSamples(samples, 'linkmon_probe_duration_seconds_count', { target: 'icmp-marked' })).toBeGreaterThan(0);
    expect(attempts('icmp-nowhere')).toBeGreaterThan(0);
    expect(sumSamples(samples, 'linkmon_probe_duration_seconds_count', { target: 'icmp-nowhere' })).toBe(0);
    expect(failures('icmp-no-device', 'network')).toBe(attempts('icmp-no-device'));
    expect(failures('icmp-foreign-source', 'network')).toBe(attempts('icmp-foreign-source'));
    expect(sumSamples(samples, 'linkmon_probe_ip_protocol', { target: 'icmp-marked' })).toBe(4);
  });
});
