// SNMP polling cost: the agent vs Debian's prometheus-snmp-exporter, side by side in the same minutes.
// The lab's wan router gets 50 extra interfaces (25 veth pairs; this kernel has no dummy driver) and a
// real snmpd; from the dc namespace, the agent polls the IF-MIB columns it uses for those 50 interfaces
// every 10 s, and snmp_exporter walks the same columns (a hand-written if_mib module) on a request
// every 10 s. Both /metrics endpoints are scraped every 10 s. A third process, the same agent without
// the snmp section, shows what the agent costs when it polls nothing; a fourth, the Node floor of an
// exporter (bench/lib/exporter-floor.ts: node:http serving the same process metrics, nothing else,
// scraped alike), what any Node process pays for that much.
// CPU: utime + stime from /proc/<pid>/stat over the measured window (after a warm-up); RSS: VmRSS
// sampled every 10 s, and VmHWM. Root required; Debian packages snmpd, snmp, prometheus-snmp-exporter.
// Usage: npx tsx bench/snmp-poll.ts [--seconds 300] [--interfaces 50] [--agent-flags="more V8 flags for the agents"]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { IF_COLUMNS, POLLED_COLUMNS, SYS_UPTIME } from '../agent/snmp/oids.js';
import { createLab } from '../test/lab/lab.js';
import { parseExposition, sumSamples } from '../test/support/exposition.js';
import { killOnProcessExit } from '../test/support/exit-cleanup.js';
import { startSnmpd } from '../test/support/snmpd-lab.js';
import { bundleCli, compiledPath, compileForBench, deployedAgentEnvironment, describeEnvironment, machineNote, REPO_ROOT, sleep, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '300' }, interfaces: { type: 'string', default: '50' }, 'agent-flags': { type: 'string', default: '' } } });
// Both agents run with the environment they are deployed with, plus any --agent-flags (e.g. "--cpu-prof").
const agentFlags = values['agent-flags'].split(/\s+/).filter(Boolean);
const agentEnv = deployedAgentEnvironment();
const seconds = Number(values.seconds);
const interfaceCount = Number(values.interfaces);
const INTERVAL_SECONDS = 10;
const WARMUP_SECONDS = 20;
const SNMP_PORT = 1161;
const ROUTER = '198.18.100.1';
const COMMUNITY = 'bench-community';
const AGENT_PORT = 9470;
const IDLE_AGENT_PORT = 9471;
const FLOOR_PORT = 9472;
const FLOOR = 'bench/lib/exporter-floor.ts';
const EXPORTER_PORT = 9116;
const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

const names = Array.from({ length: interfaceCount / 2 }, (_, i) => [`bn${String(i).padStart(2, '0')}a`, `bn${String(i).padStart(2, '0')}b`]).flat();

function agentConfig(port: number, withSnmp: boolean, communityFile: string): string {
  return stringify({
    site: { id: 'dc', name: 'SNMP bench' },
    listen: { address: '127.0.0.1', port },
    log: { level: 'warn' },
    modules: { tcp: { kind: 'tcp', interval: '3600s', timeout: '1s' } },
    targets: [{ name: 'router', module: 'tcp', host: ROUTER, port: 1 }],
    ...(withSnmp
      ? {
          snmp: {
            devices: [
              {
                name: 'router',
                address: ROUTER,
                port: SNMP_PORT,
                version: 'v2c',
                community_file: communityFile,
                interval: `${INTERVAL_SECONDS}s`,
                timeout: '2s',
                retries: 1,
                interfaces: names.map((if_name) => ({ if_name })),
              },
            ],
          },
        }
      : {}),
  });
}

/** snmp_exporter 0.21 module for the same columns the agent reads, written by hand (no generator, no MIBs). */
function exporterConfig(): string {
  const perInterface = (name: keyof typeof IF_COLUMNS, type: 'counter' | 'gauge') => ({
    name,
    oid: IF_COLUMNS[name],
    type,
    help: `IF-MIB ${name}`,
    indexes: [{ labelname: 'ifIndex', type: 'gauge' }],
    lookups: [{ labels: ['ifIndex'], labelname: 'ifName', oid: IF_COLUMNS.ifName, type: 'DisplayString' }],
  });
  const counters = ['ifHCInOctets', 'ifHCOutOctets', 'ifInErrors', 'ifOutErrors', 'ifInDiscards', 'ifOutDiscards'] as const;
  const gauges = ['ifHighSpeed', 'ifOperStatus', 'ifCounterDiscontinuityTime'] as const;
  return stringify({
    if_mib: {
      walk: [...counters, ...gauges, 'ifName' as const].map((column) => IF_COLUMNS[column]),
      get: [SYS_UPTIME],
      metrics: [
        { name: 'sysUpTime', oid: SYS_UPTIME.replace(/\.0$/, ''), type: 'gauge', help: 'SNMPv2-MIB sysUpTime' },
        ...counters.map((c) => perInterface(c, 'counter')),
        ...gauges.map((g) => perInterface(g, 'gauge')),
      ],
      version: 2,
      max_repetitions: 25,
      retries: 1,
      timeout: '2s',
      auth: { community: COMMUNITY },
    },
  });
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
}

function memoryKb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

function track(child: ChildProcess, what: string): ChildProcess {
  killOnProcessExit(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`${what} exited early (${code ?? signal}): ${output.slice(-2000)}`);
  });
  return child;
}

let stopping = false;
const dir = mkdtempSync(join(tmpdir(), 'linkmon-snmp-bench-'));
console.log('bundling the agent into dist/ (scripts/bundle.mjs) …');
const cli = await bundleCli();
await compileForBench([FLOOR]);
const lab = await createLab({ sites: 1 });
try {
  for (let i = 0; i < names.length; i += 2) {
    await lab.exec(lab.wan, ['sh', '-c', `ip link add ${names[i]} type veth peer name ${names[i + 1]} && ip link set ${names[i]} up && ip link set ${names[i + 1]} up`]);
  }
  const snmpd = await startSnmpd({ lab, ns: lab.wan, addresses: [ROUTER], port: SNMP_PORT, community: COMMUNITY, clients: '198.18.100.0/24' });
  const communityFile = join(dir, 'community');
  writeFileSync(communityFile, COMMUNITY, { mode: 0o600 });
  writeFileSync(join(dir, 'agent.yml'), agentConfig(AGENT_PORT, true, communityFile));
  writeFileSync(join(dir, 'idle.yml'), agentConfig(IDLE_AGENT_PORT, false, communityFile));
  writeFileSync(join(dir, 'snmp.yml'), exporterConfig());

  const spawnIn = (argv: string[], env: Record<string, string> = {}) => spawn('ip', ['netns', 'exec', lab.dc, ...argv], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const agent = track(spawnIn([process.execPath, ...agentFlags, cli, 'agent', '--config', join(dir, 'agent.yml')], agentEnv), 'agent');
  const idle = track(spawnIn([process.execPath, ...agentFlags, cli, 'agent', '--config', join(dir, 'idle.yml')], agentEnv), 'idle agent');
  const floor = track(spawnIn([process.execPath, compiledPath(FLOOR), JSON.stringify({ port: FLOOR_PORT })], agentEnv), 'exporter floor');
  const exporter = track(
    spawnIn(['prometheus-snmp-exporter', `--config.file=${join(dir, 'snmp.yml')}`, `--web.listen-address=127.0.0.1:${EXPORTER_PORT}`, '--log.level=warn']),
    'snmp_exporter',
  );
  const hostPort = async (port: number) => (await lab.bridge(lab.dc, port)).hostPort;
  const agentUrl = `http://${await hostPort(AGENT_PORT)}/metrics`;
  const idleUrl = `http://${await hostPort(IDLE_AGENT_PORT)}/metrics`;
  const floorUrl = `http://${await hostPort(FLOOR_PORT)}/metrics`;
  const exporterUrl = `http://${await hostPort(EXPORTER_PORT)}/snmp?module=if_mib&target=${ROUTER}:${SNMP_PORT}`;

  const fetchText = async (url: string) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        const res = await fetch(url);
        if (res.ok) return await res.text();
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`no answer from ${url}`);
  };
  const processes = { agent, idle, floor, exporter } as const;
  const pids = Object.fromEntries(Object.entries(processes).map(([k, p]) => [k, p.pid!])) as Record<keyof typeof processes, number>;
  const rssSamples: Record<keyof typeof processes, number[]> = { agent: [], idle: [], floor: [], exporter: [] };
  let exporterInterfaces = 0;
  let exporterScrapeSeconds: number[] = [];
  const scrapeAll = async () => {
    const [agentText, , , exporterText] = await Promise.all([fetchText(agentUrl), fetchText(idleUrl), fetchText(floorUrl), fetchText(exporterUrl)]);
    const exporterSamples = parseExposition(exporterText);
    exporterInterfaces = exporterSamples.filter((s) => s.name === 'ifHCInOctets' && names.includes(s.labels.ifName ?? '')).length;
    exporterScrapeSeconds.push(sumSamples(exporterSamples, 'snmp_scrape_duration_seconds'));
    for (const key of Object.keys(processes) as (keyof typeof processes)[]) rssSamples[key].push(memoryKb(pids[key]).rss);
    return parseExposition(agentText);
  };

  console.log(`warming up ${WARMUP_SECONDS} s (${names.length} interfaces, ${seconds} s measured) …`);
  const warmupEnd = Date.now() + WARMUP_SECONDS * 1000;
  while (Date.now() < warmupEnd) {
    await scrapeAll();
    await sleep(Math.min(INTERVAL_SECONDS * 1000, warmupEnd - Date.now()));
  }
  for (const key of Object.keys(rssSamples) as (keyof typeof processes)[]) rssSamples[key] = [];
  exporterScrapeSeconds = [];
  const before = await scrapeAll();
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)])) as Record<keyof typeof processes, number>;
  const started = performance.now();
  let scrapes = 1;
  let after = before;
  for (let tick = 1; tick <= seconds / INTERVAL_SECONDS; tick++) {
    await sleep(started + tick * INTERVAL_SECONDS * 1000 - performance.now());
    after = await scrapeAll();
    scrapes++;
  }
  const windowSeconds = (performance.now() - started) / 1000;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - cpuBefore[k as keyof typeof processes]])) as Record<keyof typeof processes, number>;
  const memory = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, memoryKb(pid)])) as Record<keyof typeof processes, { rss: number; hwm: number }>;
  const polls = sumSamples(after, 'linkmon_snmp_polls_total', { device: 'router' }) - sumSamples(before, 'linkmon_snmp_polls_total', { device: 'router' });
  const pollFailures = sumSamples(after, 'linkmon_snmp_poll_failures_total', { device: 'router' }) - sumSamples(before, 'linkmon_snmp_poll_failures_total', { device: 'router' });
  const agentInterfaces = after.filter((s) => s.name === 'linkmon_interface_resolved' && s.value === 1).length;
  const agentPollSeconds = sumSamples(after, 'linkmon_snmp_poll_duration_seconds', { device: 'router' });
  stopping = true;
  for (const child of Object.values(processes)) child.kill('SIGTERM');
  await snmpd.stop();

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const mb = (kb: number) => Number((kb / 1024).toFixed(1));
  const ratio = cpu.agent / cpu.exporter;
  const marginal = cpu.agent - cpu.idle;
  const result = {
    interfaces: names.length,
    intervalSeconds: INTERVAL_SECONDS,
    windowSeconds: Number(windowSeconds.toFixed(1)),
    scrapes,
    agent: { polls, pollFailures, interfacesFound: agentInterfaces, lastPollSeconds: agentPollSeconds, cpuSeconds: cpu.agent, meanRssMb: mb(mean(rssSamples.agent)), peakRssMb: mb(memory.agent.hwm) },
    idleAgent: { cpuSeconds: cpu.idle, meanRssMb: mb(mean(rssSamples.idle)), peakRssMb: mb(memory.idle.hwm) },
    exporterFloor: { cpuSeconds: cpu.floor, meanRssMb: mb(mean(rssSamples.floor)), peakRssMb: mb(memory.floor.hwm) },
    snmpExporter: {
      walks: scrapes,
      interfacesReturned: exporterInterfaces,
      meanScrapeSeconds: Number(mean(exporterScrapeSeconds).toFixed(4)),
      cpuSeconds: cpu.exporter,
      meanRssMb: mb(mean(rssSamples.exporter)),
      peakRssMb: mb(memory.exporter.hwm),
    },
    cpuRatioAgentToExporter: Number(ratio.toFixed(2)),
    cpuRatioSnmpPartToExporter: Number((marginal / cpu.exporter).toFixed(2)),
    goal: 'agent CPU <= 1.5 x snmp_exporter',
    machine: machineNote(),
  };
  console.log(JSON.stringify(result, null, 2));
  const markdown = `# SNMP polling: agent vs prometheus-snmp-exporter

${names.length} interfaces on the lab router (snmpd, net-snmp 5.9), polled every ${INTERVAL_SECONDS} s for ${result.windowSeconds} s, both at the same time, from the dc namespace.
The agent GETs the ${POLLED_COLUMNS.length} IF-MIB columns it uses (+ ifName, sysUpTime) for its configured interfaces; snmp_exporter 0.21 walks the same columns (GETBULK, max-repetitions 25) with an ifName lookup.
Both /metrics endpoints scraped every ${INTERVAL_SECONDS} s. Agents: the bundle of scripts/bundle.mjs (dist/cli/linkmon.js, as production runs), node ${agentFlags.join(' ') || 'without extra flags'}, with the deployed ${describeEnvironment(agentEnv)}. CPU = utime + stime over the window after a ${WARMUP_SECONDS} s warm-up.
Machine: ${result.machine}.

|  | agent | agent, no snmp section | Node floor: node:http + the process metrics | snmp_exporter |
|---|---|---|---|---|
| polls / walks (failed) | ${polls} (${pollFailures}) | – | – | ${scrapes} |
| interfaces found | ${agentInterfaces} | – | – | ${exporterInterfaces} |
| CPU seconds | ${cpu.agent.toFixed(2)} | ${cpu.idle.toFixed(2)} | ${cpu.floor.toFixed(2)} | ${cpu.exporter.toFixed(2)} |
| mean RSS MB | ${result.agent.meanRssMb} | ${result.idleAgent.meanRssMb} | ${result.exporterFloor.meanRssMb} | ${result.snmpExporter.meanRssMb} |
| peak RSS MB (VmHWM) | ${result.agent.peakRssMb} | ${result.idleAgent.peakRssMb} | ${result.exporterFloor.peakRssMb} | ${result.snmpExporter.peakRssMb} |

CPU agent / snmp_exporter = ${result.cpuRatioAgentToExporter}x (goal <= 1.5x: ${ratio <= 1.5 ? 'met' : 'missed'}); the SNMP part alone (agent − idle agent) = ${result.cpuRatioSnmpPartToExporter}x; the Node floor alone = ${(cpu.floor / cpu.exporter).toFixed(2)}x, the floor plus the SNMP part = ${((cpu.floor + marginal) / cpu.exporter).toFixed(2)}x.
The floor's process runs unbundled (tsc into dist/, packages from node_modules): its RSS is the unbundled one.
Last agent poll took ${(agentPollSeconds * 1000).toFixed(1)} ms; snmp_exporter's mean scrape ${(result.snmpExporter.meanScrapeSeconds * 1000).toFixed(1)} ms.
`;
  writeResults('snmp-poll', result, markdown);
  snmpd.cleanup();
} finally {
  stopping = true;
  await lab.destroy();
  rmSync(dir, { recursive: true, force: true });
}
