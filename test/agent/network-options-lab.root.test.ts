// Per-module source address, interface and DSCP (issue #14), checked on the wire for every kind
// that sends packets: icmp, tcp, http, udp (STAMP), dns over UDP and TCP, and throughput. The real
// agent probes a real linkmon responder and dnsmasq, each kind from a source address of its own and
// with a DSCP of its own, while Debian's tshark captures what the agent sends; every packet from a
// kind's source must be that kind's traffic and carry its DSCP.
//   IPv4: the lab (agent in a site namespace, responder and dnsmasq in the dc across the wan
//   router; the capture on the dc's interface), plus a plain ICMP module (unmarked, from the
//   site's own address) and bad settings that must be reasons.
//   IPv6: the lab's routers have no IPv6, so in a namespace of its own on loopback (agent,
//   responder and dnsmasq on ::1, the sources fd00::/64 addresses of lo; the capture on lo).
// Needs root and the Debian packages iproute2, nftables, python3 (the lab), tshark and dnsmasq-base
// (scripts/test-host-setup.sh).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type Dnsmasq } from '../support/dnsmasq.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../support/exposition.js';
import { startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { bridgeIntoNetns, type NetnsBridge } from '../support/netns-bridge.js';
import { createLab, type Lab } from '../lab/lab.js';
import { createLoopbackNamespace, type LoopbackNamespace } from '../lab/loopback-namespace.js';
import { inNetns, run } from '../lab/run.js';
import { captureFields } from '../lab/tshark.js';

const AGENT_PORT = 9470;
const PORTS = { http: 9480, tcp: 9481, udp: 9483, dns: 53 };
const TOKEN = 'lab-token-0123456789abcdef';
const RUN_MS = 3000;

/** Each kind's own source address (the last part; the scenario gives the prefix), DSCP, and how its packets look on the wire. */
const KINDS = {
  icmp: { host: 3, dscp: 46, wire: (p: Packet) => p.protocol === 'icmp' || p.protocol === 'icmpv6' },
  tcp: { host: 4, dscp: 34, wire: (p: Packet) => p.protocol === 'tcp' && p.port === PORTS.tcp },
  http: { host: 5, dscp: 26, wire: (p: Packet) => p.protocol === 'tcp' && p.port === PORTS.http },
  udp: { host: 6, dscp: 40, wire: (p: Packet) => p.protocol === 'udp' && p.port === PORTS.udp },
  dns: { host: 7, dscp: 18, wire: (p: Packet) => p.protocol === 'udp' && p.port === PORTS.dns },
  dns_tcp: { host: 8, dscp: 20, wire: (p: Packet) => p.protocol === 'tcp' && p.port === PORTS.dns },
  throughput: { host: 9, dscp: 10, wire: (p: Packet) => p.protocol === 'tcp' && p.port === PORTS.http },
} as const;
type KindName = keyof typeof KINDS;

interface Packet {
  source: string;
  dscp: number;
  protocol: string;
  /** Destination port (TCP or UDP). */
  port: number;
  /** A TCP reset carrying no data. */
  bareReset: boolean;
}

interface Scenario {
  family: 4 | 6;
  source: (kind: KindName) => string;
  packets: Packet[];
  samples: ExpositionSample[];
}

interface ScenarioSetup {
  family: 4 | 6;
  /** Where the agent runs and captures happen, and how to run a command there. */
  agentNs: string;
  spawn: (ns: string, argv: string[], options: SpawnOptions) => ChildProcess;
  captureNs: string;
  captureIface: string;
  captureFilter: string;
  /** The responder's and dnsmasq's address, as the agent reaches it. */
  dc: string;
  sourcePrefix: string;
  sourceInterface: string;
  /** Extra modules and targets (YAML lines) for this scenario. */
  extraModules?: string[];
  extraTargets?: string[];
  bridge: (port: number) => Promise<NetnsBridge>;
}

function agentConfig(setup: ScenarioSetup): string {
  const source = (kind: KindName) => `${setup.sourcePrefix}${KINDS[kind].host}`;
  const net = (kind: KindName) => `source_ip_address: "${source(kind)}", source_interface: ${setup.sourceInterface}, dscp: ${KINDS[kind].dscp}`;
  const urlHost = setup.family === 6 ? `[${setup.dc}]` : setup.dc;
  return [
    'site: { id: lab1, name: Lab site 1 }',
    `listen: { address: 127.0.0.1, port: ${AGENT_PORT} }`,
    'modules:',
    `  icmp: { kind: icmp, interval: 500ms, packets: 2, timeout: 300ms, ${net('icmp')} }`,
    `  tcp: { kind: tcp, interval: 500ms, timeout: 500ms, port: ${PORTS.tcp}, ${net('tcp')} }`,
    `  http: { kind: http, interval: 500ms, timeout: 500ms, ${net('http')} }`,
    `  udp: { kind: udp, interval: 500ms, packets: 4, timeout: 300ms, port: ${PORTS.udp}, ${net('udp')} }`,
    `  dns: { kind: dns, interval: 500ms, timeout: 500ms, query_name: caid-portal.lab.test, ${net('dns')} }`,
    `  dns_tcp: { kind: dns, interval: 500ms, timeout: 500ms, query_name: caid-portal.lab.test, transport_protocol: tcp, ${net('dns_tcp')} }`,
    `  throughput: { kind: throughput, schedule: "* * * * * *", spread: 0s, bytes: 100kB, warmup: 0s, timeout: 2s, max_duration: 2s, token_env: LAB_TOKEN, ${net('throughput')} }`,
    ...(setup.extraModules ?? []),
    'targets:',
    `  - { name: icmp, module: icmp, host: "${setup.dc}" }`,
    `  - { name: tcp, module: tcp, host: "${setup.dc}" }`,
    `  - { name: http, module: http, url: "http://${urlHost}:${PORTS.http}/healthz" }`,
    `  - { name: udp, module: udp, host: "${setup.dc}" }`,
    `  - { name: dns, module: dns, host: "${setup.dc}" }`,
    `  - { name: dns_tcp, module: dns_tcp, host: "${setup.dc}" }`,
    `  - { name: throughput, module: throughput, url: "http://${urlHost}:${PORTS.http}/" }`,
    ...(setup.extraTargets ?? []),
    '',
  ].join('\n');
}

/** Starts the agent with the scenario's config, lets it probe for RUN_MS under a capture, and returns what was captured and scraped. */
async function runScenario(setup: ScenarioSetup, dir: string, started: LinkmonProcess[]): Promise<Scenario> {
  const file = join(dir, `agent-ipv${setup.family}.yaml`);
  writeFileSync(file, agentConfig(setup));
  let samples: ExpositionSample[] = [];
  const fields = ['ip.src', 'ipv6.src', 'ip.dsfield.dscp', 'ipv6.tclass.dscp', 'ip.proto', 'ipv6.nxt', 'tcp.dstport', 'udp.dstport', 'tcp.flags.reset', 'tcp.len'];
  const rows = await captureFields(setup.spawn, setup.captureNs, setup.captureIface, setup.captureFilter, async () => {
    const agent = startLinkmon(['agent', '--config', file], { netns: setup.agentNs, env: { LAB_TOKEN: TOKEN } });
    started.push(agent);
    await waitForLog(agent, 'serving metrics', 'the agent serving metrics');
    const bridge = await setup.bridge(AGENT_PORT);
    await new Promise((resolve) => setTimeout(resolve, RUN_MS));
    samples = parseExposition(await (await fetch(`http://${bridge.hostPort}/metrics`)).text());
    await agent.stop();
  }, fields);
  const protocols: Record<string, string> = { '1': 'icmp', '58': 'icmpv6', '6': 'tcp', '17': 'udp' };
  const packets = rows.map(([src4 = '', src6 = '', dscp4 = '', dscp6 = '', proto4 = '', proto6 = '', tcpPort = '', udpPort = '', reset = '', tcpLength = '']) => ({
    source: src4 || src6,
    dscp: Number(dscp4 || dscp6),
    protocol: protocols[proto4 || proto6] ?? `ip protocol ${proto4 || proto6}`,
    port: Number(tcpPort || udpPort || 0),
    bareReset: (reset === '1' || reset === 'True') && Number(tcpLength || 0) === 0,
  }));
  return { family: setup.family, source: (kind) => `${setup.sourcePrefix}${KINDS[kind].host}`, packets, samples };
}

/** Until `text` is in the process's log; fails at once, with the log, if the process exits first. */
async function waitForLog(process: LinkmonProcess, text: string, what: string): Promise<void> {
  const state = await waitFor(what, () => (process.output().includes(text) ? 'up' : process.child.exitCode !== null ? 'exited' : undefined), 30_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${process.output()}`);
  });
  if (state === 'exited') throw new Error(`${what}: exited with ${process.child.exitCode} first\n${process.output()}`);
}

function responderConfig(address: string): string {
  return `listen: { address: "${address}" }\nhttp: { port: ${PORTS.http} }\ntcp: { port: ${PORTS.tcp} }\nudp: { port: ${PORTS.udp} }\nauth: { token_env: LAB_TOKENS }\nlog: { level: info }\n`;
}

async function startResponderIn(ns: string, address: string, dir: string, started: LinkmonProcess[]): Promise<void> {
  const file = join(dir, `responder-${ns}.yaml`);
  writeFileSync(file, responderConfig(address));
  const responder = startLinkmon(['responder', '--config', file], { netns: ns, env: { LAB_TOKENS: TOKEN } });
  started.push(responder);
  await waitForLog(responder, 'responder listening', 'the responder listening');
}

describe('source address, interface and DSCP of every kind on the wire', () => {
  let lab: Lab | undefined;
  let loopback: LoopbackNamespace | undefined;
  let dir: string;
  const started: LinkmonProcess[] = [];
  const servers: Dnsmasq[] = [];
  const bridges: NetnsBridge[] = [];
  const scenarios = new Map<4 | 6, Scenario>();

  const ipv4 = async () => {
    lab = await createLab({ sites: 1, dcAddresses: 1 });
    const site = lab.site();
    const dc = lab.dcAddress(1);
    for (const kind of Object.values(KINDS)) await lab.exec(site, ['ip', 'addr', 'add', `198.18.1.${kind.host}/24`, 'dev', 'wan']);
    // An interface with no way to the dc (a veth pair inside the site): probes bound to it cannot
    // leave by the wan, whatever the routing table says.
    await lab.exec(site, ['ip', 'link', 'add', 'nowhere', 'type', 'veth', 'peer', 'name', 'nowhere-peer']);
    await lab.exec(site, ['ip', 'link', 'set', 'nowhere', 'up']);
    await startResponderIn(lab.dc, dc, dir, started);
    servers.push(await startDnsmasq({ netns: lab.dc, address: dc, port: PORTS.dns, records: ['--host-record=caid-portal.lab.test,198.18.100.9'] }));
    const theLab = lab;
    scenarios.set(
      4,
      await runScenario(
        {
          family: 4,
          agentNs: site,
          spawn: (ns, argv, options) => theLab.spawn(ns, argv, options),
          captureNs: lab.dc,
          captureIface: 'wan',
          captureFilter: 'src net 198.18.1.0/24',
          dc,
          sourcePrefix: '198.18.1.',
          sourceInterface: 'wan',
          extraModules: [
            '  icmp_plain: { kind: icmp, interval: 500ms, packets: 2, timeout: 300ms }',
            '  icmp_nowhere: { kind: icmp, interval: 500ms, packets: 1, timeout: 300ms, source_interface: nowhere }',
            '  icmp_no_device: { kind: icmp, interval: 500ms, packets: 1, timeout: 300ms, source_interface: nosuchif0 }',
            '  icmp_foreign_source: { kind: icmp, interval: 500ms, packets: 1, timeout: 300ms, source_ip_address: 198.18.1.99 }',
            '  tcp_foreign_source: { kind: tcp, interval: 500ms, timeout: 300ms, port: 9481, source_ip_address: 198.18.1.99 }',
          ],
          extraTargets: [
            `  - { name: icmp-plain, module: icmp_plain, host: ${dc} }`,
            `  - { name: icmp-nowhere, module: icmp_nowhere, host: ${dc} }`,
            `  - { name: icmp-no-device, module: icmp_no_device, host: ${dc} }`,
            `  - { name: icmp-foreign-source, module: icmp_foreign_source, host: ${dc} }`,
            `  - { name: tcp-foreign-source, module: tcp_foreign_source, host: ${dc} }`,
          ],
          bridge: async (port) => theLab.bridge(site, port),
        },
        dir,
        started,
      ),
    );
  };

  const ipv6 = async () => {
    loopback = await createLoopbackNamespace('netopt6');
    const ns = loopback.name;
    for (const kind of Object.values(KINDS)) await run(['ip', '-n', ns, 'addr', 'add', `fd00::${kind.host}/128`, 'dev', 'lo', 'nodad']);
    await startResponderIn(ns, '::1', dir, started);
    servers.push(await startDnsmasq({ netns: ns, address: '::1', port: PORTS.dns, records: ['--host-record=caid-portal.lab.test,198.18.100.9'] }));
    scenarios.set(
      6,
      await runScenario(
        {
          family: 6,
          agentNs: ns,
          spawn: (where, argv, options) => {
            const command = inNetns(where, argv);
            return spawn(command[0]!, command.slice(1), options);
          },
          captureNs: ns,
          captureIface: 'lo',
          captureFilter: 'src net fd00::/64',
          dc: '::1',
          sourcePrefix: 'fd00::',
          sourceInterface: 'lo',
          bridge: async (port) => {
            const bridge = await bridgeIntoNetns(ns, port);
            bridges.push(bridge);
            return bridge;
          },
        },
        dir,
        started,
      ),
    );
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-netopts-lab-'));
    // Both families at once: each waits mostly on process start-up and the capture.
    await Promise.all([ipv4(), ipv6()]);
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled(started.map((p) => p.stop()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    await Promise.allSettled(bridges.map((b) => b.close()));
    await lab?.destroy();
    await loopback?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const family of [4, 6] as const) {
    describe(`IPv${family}`, () => {
      const scenario = () => scenarios.get(family)!;
      const value = (name: string, labels: Record<string, string>) => sumSamples(scenario().samples, name, labels);

      for (const kind of Object.keys(KINDS) as KindName[]) {
        it(`${kind}: every packet from its source is its traffic and carries its DSCP; the family is reported`, () => {
          const { packets, source } = scenario();
          const own = packets.filter((p) => p.source === source(kind));
          expect(own.length, `packets from ${source(kind)}`).toBeGreaterThanOrEqual(kind === 'icmp' ? 4 : 1);
          // Except a bare reset with the peer's DSCP: a segment arriving for a socket already closed
          // (the agent stops mid-exchange at the end of the run) is answered by the kernel, not by
          // the probe, with the TOS of the segment it answers (Linux tcp_v4_send_reset).
          const kernelReset = (p: Packet) => p.bareReset && p.dscp === 0;
          expect(own.filter((p) => !KINDS[kind].wire(p) || (p.dscp !== KINDS[kind].dscp && !kernelReset(p)))).toEqual([]);
          expect(own.filter((p) => !p.bareReset).length, `packets from ${source(kind)} other than resets`).toBeGreaterThan(0);
          expect(value('linkmon_probe_ip_protocol', { target: kind })).toBe(family);
          if (kind === 'throughput') expect(value('linkmon_throughput_tests_total', { target: kind })).toBeGreaterThan(value('linkmon_throughput_failures_total', { target: kind }));
          else expect(value('linkmon_probe_duration_seconds_count', { target: kind })).toBeGreaterThan(0);
        });
      }
    });
  }

  it('IPv4: a module without settings sends unmarked from the site address; a wrong interface or source is a reason, not traffic', () => {
    const { packets, samples } = scenarios.get(4)!;
    const value = (name: string, labels: Record<string, string>) => sumSamples(samples, name, labels);
    const plain = packets.filter((p) => p.source === lab!.siteAddress());
    expect(plain.filter((p) => p.protocol === 'icmp').length).toBeGreaterThanOrEqual(4);
    expect(plain.filter((p) => p.dscp !== 0 || p.protocol !== 'icmp')).toEqual([]);
    expect(packets.filter((p) => p.source === '198.18.1.99')).toEqual([]);
    expect(value('linkmon_probe_attempts_total', { target: 'icmp-nowhere' })).toBeGreaterThan(0);
    expect(value('linkmon_probe_duration_seconds_count', { target: 'icmp-nowhere' })).toBe(0);
    for (const target of ['icmp-no-device', 'icmp-foreign-source', 'tcp-foreign-source']) {
      expect(value('linkmon_probe_attempts_total', { target }), target).toBeGreaterThan(0);
      expect(value('linkmon_probe_failures_total', { target, reason: 'network' }), target).toBe(value('linkmon_probe_attempts_total', { target }));
    }
  });
});
