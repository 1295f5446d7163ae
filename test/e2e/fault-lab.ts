// A site agent probing every kind through the network lab while faults are switched on and off:
// shared by the fault matrix (test/e2e/fault-matrix.root.test.ts) and the soak bench (bench/soak.ts).
// Needs root and the Debian packages iproute2, nftables, python3, snmpd, snmp, dnsmasq-base and
// prometheus (scripts/test-host-setup.sh).
//
// dc addresses: 1 the responder (HTTP 9480, TCP 9482, UDP 9483), 2 a plain HTTP server (8080;
// also what lab.test resolves to), 3 a fault server (8082: answers, refuses or resets on command),
// 4 dnsmasq (53), 5 snmpd (1161; or a server answering garbage on the same port).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from '../lab/lab.js';
import { onProcessExit } from '../support/exit-cleanup.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../support/exposition.js';
import { REPO_ROOT, startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { buildPrometheusConfig, startPrometheus, staticScrape, type PrometheusInstance } from '../support/prometheus.js';
import { startSnmpd, type Snmpd } from '../support/snmpd-lab.js';

export const AGENT_PORT = 9470;
const RESPONDER = { http: 9480, tcp: 9482, udp: 9483 } as const;
const PLAIN_HTTP_PORT = 8080;
const FAULT_PORT = 8082;
const SNMP_PORT = 1161;
const DNS_NAME = 'target.lab.test';
const TOKEN = 'fault-lab-token-0123456789abcdef';
const TSX = [process.execPath, '--import', 'tsx'];

/** Target names, and which fault each one is there to show. */
export const TARGETS = {
  icmp: 'icmp-dc', // reference: never faulted (but for the link flap)
  tcp: 'tcp-dc', // reference
  blackholed: 'tcp-blackholed',
  fault: 'http-fault', // refusing, resetting
  dns: 'tcp-by-name', // DNS failing and slow
  responderHttp: 'http-responder',
  responderUdp: 'udp-responder',
  throughput: 'throughput-responder',
} as const;
export const SNMP_DEVICE = 'router';

export type FaultServerMode = 'answer' | 'refuse' | 'reset';

export interface ResourceSample {
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  handles: number;
  fds: number;
  eventLoopDelayP99Seconds: number;
}

export interface FaultLab {
  lab: Lab;
  agent: LinkmonProcess;
  prometheus: PrometheusInstance;
  agentMetricsUrl: string;
  scrape(): Promise<ExpositionSample[]>;
  resources(): Promise<ResourceSample>;
  /** SIGHUP with the config with or without an extra target (each reload changes the target set). */
  reload(): Promise<void>;
  faultServer(mode: FaultServerMode): void;
  blackhole(on: boolean): Promise<void>;
  dns(state: 'up' | 'down' | 'slow'): Promise<void>;
  snmp(state: 'up' | 'gone' | 'garbage' | 'slow'): Promise<void>;
  /** Down and up the site's link every `everyMs` for `forMs`. */
  flapLink(forMs: number, everyMs: number): Promise<void>;
  responderKill(): void;
  /** Resolves once a throughput transfer to the responder has moved 256 KiB in the direction, as the dc's kernel counts it. */
  responderTransferUnderWay(direction: 'download' | 'upload'): Promise<void>;
  responderStart(): Promise<void>;
  responderPause(paused: boolean): void;
  closeAgentStdout(): void;
  prometheusAway(away: boolean): Promise<void>;
  destroy(): Promise<void>;
}

const FAULT_SERVER = `
const net = require('node:net');
let mode = 'answer', server;
const listen = () => { server = net.createServer((s) => {
  s.on('error', () => {});
  if (mode === 'reset') return s.resetAndDestroy();
  s.once('data', () => s.end('HTTP/1.1 200 OK\\r\\nContent-Length: 3\\r\\nConnection: close\\r\\n\\r\\nok\\n'));
}).listen(${FAULT_PORT}, process.argv[1]); };
listen();
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const next = line.trim();
  if (next === 'refuse' && server) { server.close(); server = undefined; }
  if (next !== 'refuse' && !server) listen();
  mode = next;
});`;
const GARBAGE_UDP = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.from(Array.from({ length: 60 }, () => Math.floor(Math.random() * 256))), r.port, r.address));
s.bind(${SNMP_PORT}, process.argv[1]);`;

function agentConfig(lab: Lab, dir: string, extraTarget: boolean): string {
  return `site: { id: faultlab, name: Fault lab }
listen: { address: 127.0.0.1, port: ${AGENT_PORT} }
modules:
  icmp: { kind: icmp, interval: 1s, packets: 5, timeout: 500ms }
  tcp: { kind: tcp, interval: 1s, timeout: 500ms }
  web: { kind: http, interval: 1s, timeout: 800ms, expect_status: [200] }
  udp: { kind: udp, interval: 1s, packets: 10, timeout: 500ms }
  bulk: { kind: throughput, schedule: "*/10 * * * * *", spread: 0s, duration: 3s, warmup: 500ms, timeout: 2s, max_duration: 6s, busy_retries: 0, token_file: ${join(dir, 'token')} }
targets:
  - { name: ${TARGETS.icmp}, module: icmp, host: ${lab.dcAddress(2)} }
  - { name: ${TARGETS.tcp}, module: tcp, host: ${lab.dcAddress(2)}, port: ${PLAIN_HTTP_PORT} }
  - { name: ${TARGETS.blackholed}, module: tcp, host: ${lab.dcAddress(3)}, port: ${FAULT_PORT} }
  - { name: ${TARGETS.fault}, module: web, url: "http://${lab.dcAddress(3)}:${FAULT_PORT}/" }
  - { name: ${TARGETS.dns}, module: tcp, host: ${DNS_NAME}, port: ${PLAIN_HTTP_PORT} }
  - { name: ${TARGETS.responderHttp}, module: web, url: "http://${lab.dcAddress(1)}:${RESPONDER.http}/latency" }
  - { name: ${TARGETS.responderUdp}, module: udp, host: ${lab.dcAddress(1)}, port: ${RESPONDER.udp} }
  - { name: ${TARGETS.throughput}, module: bulk, url: "http://${lab.dcAddress(1)}:${RESPONDER.http}" }
${extraTarget ? `  - { name: reload-extra, module: tcp, host: ${lab.dcAddress(2)}, port: ${PLAIN_HTTP_PORT} }\n` : ''}snmp:
  devices:
    - { name: ${SNMP_DEVICE}, address: ${lab.dcAddress(5)}, port: ${SNMP_PORT}, version: v2c, community_file: ${join(dir, 'community')}, timeout: 400ms, retries: 0, interval: 1s,
        interfaces: [ { if_name: wan } ] }
`;
}

export async function startFaultLab(): Promise<FaultLab> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-fault-lab-'));
  const lab = await createLab({ sites: 1, dcAddresses: 5 });
  const site = lab.site(1);
  // `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf for what runs in the site.
  const netnsEtc = join('/etc/netns', site);
  mkdirSync(netnsEtc, { recursive: true });
  writeFileSync(join(netnsEtc, 'resolv.conf'), `nameserver ${lab.dcAddress(4)}\noptions timeout:1 attempts:1\n`);
  const unregister = onProcessExit(() => rmSync(netnsEtc, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'community'), 'faultlab\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'responder.yaml'),
    `listen: { address: ${lab.dcAddress(1)} }\nauth: { token_file: ${join(dir, 'token')} }\nlimits: { max_seconds: 10s, idle_timeout: 2s }\n`,
  );
  const configFile = join(dir, 'agent.yaml');
  writeFileSync(configFile, agentConfig(lab, dir, false));
  // Throughput tests are bulk: cap them so two cores stay free for the probes.
  await lab.setRate('dc_to_site', { mbit: 40 });
  await lab.setRate('site_to_dc', { mbit: 40 });

  lab.spawn(lab.dc, [process.execPath, '-e', `require('node:http').createServer((q, r) => r.end('ok')).listen(${PLAIN_HTTP_PORT}, '${lab.dcAddress(2)}')`], { stdio: 'ignore' });
  const faultServer = lab.spawn(lab.dc, [process.execPath, '-e', FAULT_SERVER, lab.dcAddress(3)], { stdio: ['pipe', 'ignore', 'ignore'] });
  let dnsmasq: ChildProcess | undefined;
  const startDns = () => {
    dnsmasq = lab.spawn(
      lab.dc,
      ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces', `--listen-address=${lab.dcAddress(4)}`, '--port=53', `--host-record=${DNS_NAME},${lab.dcAddress(2)}`, '--local-ttl=1', '--pid-file', '--user=root'],
      { stdio: 'ignore' },
    );
  };
  startDns();
  const snmpd: Snmpd = await startSnmpd({ lab, ns: lab.dc, addresses: [lab.dcAddress(5)], port: SNMP_PORT, community: 'faultlab', clients: '198.18.0.0/15' });
  let snmpdRunning = true;
  let garbage: ChildProcess | undefined;

  let responder: ChildProcess | undefined;
  let responderOutput = '';
  const responderStart = async () => {
    responderOutput = '';
    responder = lab.spawn(lab.dc, [...TSX, join(REPO_ROOT, 'cli/linkmon.ts'), 'responder', '--config', join(dir, 'responder.yaml')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    responder.stdout?.on('data', (d: Buffer) => (responderOutput += d.toString()));
    responder.stderr?.on('data', (d: Buffer) => (responderOutput += d.toString()));
    await waitFor('the responder to listen', () => (responderOutput.includes('listening') ? true : undefined), 30_000, 50);
  };
  await responderStart();

  const agent = startLinkmon(['agent', '--config', configFile], { netns: site });
  await waitFor('the agent serving metrics', () => {
    if (agent.child.exitCode !== null) throw new Error(`agent exited:\n${agent.output()}`);
    return /serving metrics/.test(agent.output()) ? true : undefined;
  }, 30_000);
  const agentBridge = await lab.bridge(site, AGENT_PORT);
  const agentMetricsUrl = `http://${agentBridge.hostPort}/metrics`;
  const scrapeConfig = (targets: string[]) => staticScrape('linkmon', targets);
  const prometheus = await startPrometheus({ scrapeConfigs: [scrapeConfig([agentBridge.hostPort])] });

  const scrape = async () => parseExposition(await (await fetch(agentMetricsUrl, { signal: AbortSignal.timeout(5000) })).text());
  let extraTarget = false;

  return {
    lab,
    agent,
    prometheus,
    agentMetricsUrl,
    scrape,
    resources: async () => {
      const samples = await scrape();
      const value = (name: string) => sumSamples(samples, name);
      return {
        at: Date.now() / 1000,
        rssBytes: value('process_resident_memory_bytes'),
        heapUsedBytes: value('nodejs_heap_size_used_bytes'),
        handles: value('nodejs_active_handles'),
        fds: value('process_open_fds'),
        eventLoopDelayP99Seconds: value('nodejs_eventloop_lag_p99_seconds'),
      };
    },
    reload: async () => {
      extraTarget = !extraTarget;
      writeFileSync(configFile, agentConfig(lab, dir, extraTarget));
      agent.child.kill('SIGHUP');
    },
    faultServer: (mode) => void faultServer.stdin!.write(`${mode}\n`),
    blackhole: (on) => lab.blackhole(lab.dcAddress(3), on),
    dns: async (state) => {
      await lab.blackhole(lab.dcAddress(4), state === 'slow');
      if (state === 'down' && dnsmasq) {
        const stopping = dnsmasq;
        dnsmasq = undefined;
        stopping.kill('SIGTERM');
        await new Promise((resolve) => stopping.once('exit', resolve));
      }
      if (state !== 'down' && !dnsmasq) startDns();
    },
    snmp: async (state) => {
      if (garbage) {
        const stopping = garbage;
        garbage = undefined;
        stopping.kill('SIGTERM');
        await new Promise((resolve) => stopping.once('exit', resolve));
      }
      if (state === 'slow') return snmpd.pause(true);
      snmpd.pause(false);
      if (state === 'up') {
        if (!snmpdRunning) await snmpd.start();
        snmpdRunning = true;
        return;
      }
      await snmpd.stop();
      snmpdRunning = false;
      if (state === 'garbage') garbage = lab.spawn(lab.dc, [process.execPath, '-e', GARBAGE_UDP, lab.dcAddress(5)], { stdio: 'ignore' });
    },
    flapLink: async (forMs, everyMs) => {
      const until = Date.now() + forMs;
      let up = true;
      while (Date.now() < until) {
        up = !up;
        await lab.exec(lab.wan, ['ip', 'link', 'set', 'site1', up ? 'up' : 'down']);
        await new Promise((r) => setTimeout(r, everyMs));
      }
      if (!up) await lab.exec(lab.wan, ['ip', 'link', 'set', 'site1', 'up']);
    },
    responderKill: () => responder?.kill('SIGKILL'),
    responderTransferUnderWay: async (direction) => {
      // Watched in the kernel (ss), not asked of the responder or timed on the agent's schedule: on a
      // loaded box both lag by seconds. A connection counts once its byte counter grew by 64 KiB
      // between two looks: an idle keep-alive connection of an earlier test carries a large count
      // too. Bounded by three of the agent's 10 s test cycles.
      const counter = direction === 'download' ? 'bytes_sent' : 'bytes_received';
      let previous = new Map<string, number>();
      await waitFor(`a ${direction} under way`, async () => {
        const { stdout } = await lab.exec(lab.dc, ['ss', '-tniH', 'state', 'established', `( sport = :${RESPONDER.http} )`]);
        const current = transferCounters(stdout, counter);
        const moving = [...current].some(([peer, bytes]) => bytes - (previous.get(peer) ?? bytes) >= 64 * 1024);
        previous = current;
        return moving ? true : undefined;
      }, 35_000, 50);
    },
    responderStart,
    responderPause: (paused) => responder?.kill(paused ? 'SIGSTOP' : 'SIGCONT'),
    closeAgentStdout: () => agent.child.stdout?.destroy(),
    prometheusAway: (away) => prometheus.reloadConfig(buildPrometheusConfig({ scrapeConfigs: [scrapeConfig(away ? [] : [agentBridge.hostPort])] })),
    destroy: async () => {
      await Promise.allSettled([agent.stop(), prometheus.stop()]);
      responder?.kill('SIGCONT');
      snmpd.pause(false);
      await lab.destroy();
      snmpd.cleanup();
      rmSync(netnsEtc, { recursive: true, force: true });
      unregister();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Each connection's byte counter from `ss -tniH` output, by peer address: every socket is a line with
 * the local and peer addresses, then an indented line of TCP info (`bytes_sent:N ... bytes_received:N`).
 */
function transferCounters(ssOutput: string, counter: 'bytes_sent' | 'bytes_received'): Map<string, number> {
  const counters = new Map<string, number>();
  let peer: string | undefined;
  for (const line of ssOutput.split('\n')) {
    const addresses = /(\S+:\d+)\s+(\S+:\d+)\s*$/.exec(line);
    if (addresses && !line.startsWith('\t') && !line.startsWith(' ')) {
      peer = addresses[2];
      continue;
    }
    const bytes = new RegExp(`${counter}:(\\d+)`).exec(line);
    if (peer !== undefined && bytes) counters.set(peer, Number(bytes[1]));
  }
  return counters;
}
