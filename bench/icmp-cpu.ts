// CPU seconds and peak RSS per 1,000 ICMP probes: 50 targets at 1 probe/s for 60 s, the agent and
// fping doing the same work side by side in the same minute, each in its own throwaway namespace
// (so none sees the others' replies) pinging 50 loopback addresses 127.0.1.1-50. The agent runs
// twice: as shipped (kernel-timestamp addon) and with the raw-socket fallback transport. A fourth
// process, bench/lib/icmp-floor.ts, does the same echoes with the agent's socket and nothing else:
// the floor any Node process pays per echo with this transport.
// Goal (issue #2): agent CPU per probe <= 2x fping's; agent RSS <= 80 MB.
// Root required. Usage: npx tsx bench/icmp-cpu.ts [--seconds 60] [--targets 50]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { inNetns, run } from '../test/lab/run.js';
import { compiledPath, compileForBench, compileHarness, createLoopbackNamespace, deployedAgentEnvironment, describeEnvironment, machineNote, removeNamespace, runFping, sleep, startHarness, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, targets: { type: 'string', default: '50' }, scrape: { type: 'string', default: '15' } } });
const seconds = Number(values.seconds);
const targetCount = Number(values.targets);
const scrapeEverySeconds = Number(values.scrape);
const WARMUP_SECONDS = 10;
const FLOOR = 'bench/lib/icmp-floor.ts';
const AGENT_ENV = deployedAgentEnvironment();
const targets = Array.from({ length: targetCount }, (_, i) => `127.0.1.${i + 1}`);

const dir = mkdtempSync(join(tmpdir(), 'linkmon-icmp-cpu-'));
const configFile = join(dir, 'agent.yaml');
writeFileSync(
  configFile,
  [
    'site: {id: bench, name: ICMP CPU bench}',
    'log: {level: warn}',
    'modules:',
    '  ping: {kind: icmp, interval: 1s, timeout: 1s, packets: 1, payload_bytes: 56}',
    'targets:',
    ...targets.map((host, i) => `  - {name: t${String(i + 1).padStart(2, '0')}, module: ping, host: ${host}, labels: {link: hsl}}`),
    '',
  ].join('\n'),
);

console.log(`compiling the agent harness into dist/ …`);
const harnessPath = await compileHarness();
await compileForBench([FLOOR]);
const agentNs = await createLoopbackNamespace('cpuagent');
const rawNs = await createLoopbackNamespace('cpuraw');
const fpingNs = await createLoopbackNamespace('cpufping');
const floorNs = await createLoopbackNamespace('cpufloor');
try {
  const floorRun = run(inNetns(floorNs, [process.execPath, compiledPath(FLOOR), JSON.stringify({ targets: targetCount, warmupSeconds: WARMUP_SECONDS, measureSeconds: seconds })]), {
    timeoutMs: (WARMUP_SECONDS + seconds + 60) * 1000,
  }).then(({ stdout }) => JSON.parse(stdout) as { probes: number; replies: number; cpuSeconds: number });
  const harness = startHarness(agentNs, { configFile, warmupSeconds: WARMUP_SECONDS, measureSeconds: seconds, serveMetrics: true }, [], [], AGENT_ENV);
  const rawHarness = startHarness(rawNs, { configFile, warmupSeconds: WARMUP_SECONDS, measureSeconds: seconds, serveMetrics: true, transport: 'raw-socket' }, [], [], AGENT_ENV);
  const urls = await Promise.all([harness, rawHarness].map(async (h) => ((await h.event('listening')) as { url: string }).url));
  await Promise.all([harness.event('measuring'), rawHarness.event('measuring')]);
  console.log(`agents (${harnessPath}) measuring for ${seconds} s; fping starts now in ${fpingNs}`);

  // Prometheus-like scrapes of the agents during their window, from a separate process in each namespace.
  const scrape = (ns: string, url: string) =>
    run(inNetns(ns, [process.execPath, '-e', `fetch(${JSON.stringify(`${url}/metrics`)}).then((r) => r.text()).then((t) => process.exit(t.length > 0 ? 0 : 1))`]));
  const scraping = (async () => {
    let scrapes = 0;
    for (let t = scrapeEverySeconds; scrapeEverySeconds > 0 && t < seconds; t += scrapeEverySeconds) {
      await sleep(scrapeEverySeconds * 1000);
      await scrape(agentNs, urls[0]!);
      await scrape(rawNs, urls[1]!);
      scrapes++;
    }
    return scrapes;
  })();
  const [fping, agent, rawAgent, scrapes, floor] = await Promise.all([runFping(fpingNs, targets, seconds, 1000), harness.result, rawHarness.result, scraping, floorRun]);

  const fpingSent = [...fping.rttsMs.values()].reduce((n, rtts) => n + rtts.length, 0);
  const fpingLost = [...fping.rttsMs.values()].reduce((n, rtts) => n + rtts.filter((r) => r === undefined).length, 0);
  const perThousand = (cpu: number, probes: number) => (cpu / probes) * 1000;
  const agentPerK = perThousand(agent.cpuSeconds, agent.attempts);
  const rawPerK = perThousand(rawAgent.cpuSeconds, rawAgent.attempts);
  const fpingPerK = perThousand(fping.cpuSeconds, fpingSent);
  const floorPerK = perThousand(floor.cpuSeconds, floor.probes);
  const mb = (bytes: number) => bytes / 1e6;
  const result = {
    machine: machineNote(),
    workload: { targets: targetCount, probesPerSecondPerTarget: 1, seconds, scrapeEverySeconds, scrapes },
    agent: {
      how: `Agent class (config → ProbeScheduler → IcmpProber → AgentMetrics, default process metrics, /metrics server) compiled to dist/, plain node with the deployed ${describeEnvironment(AGENT_ENV)}`,
      timestamps: agent.timestamps,
      probes: agent.attempts,
      lost: agent.failures,
      cpuSeconds: agent.cpuSeconds,
      cpuSecondsPer1000Probes: agentPerK,
      cpuSecondsInclStartup: agent.totalCpuSeconds,
      peakRssMB: mb(agent.maxRssBytes),
      endRssMB: mb(agent.memory.rss),
      endHeapUsedMB: mb(agent.memory.heapUsed),
    },
    agentRawSocket: {
      timestamps: rawAgent.timestamps,
      probes: rawAgent.attempts,
      lost: rawAgent.failures,
      cpuSeconds: rawAgent.cpuSeconds,
      cpuSecondsPer1000Probes: rawPerK,
      peakRssMB: mb(rawAgent.maxRssBytes),
    },
    nodeFloor: { how: 'bench/lib/icmp-floor.ts: the native socket alone, same echoes, no scheduler/metrics/HTTP', probes: floor.probes, replies: floor.replies, cpuSeconds: floor.cpuSeconds, cpuSecondsPer1000Probes: floorPerK },
    fping: { probes: fpingSent, lost: fpingLost, cpuSeconds: fping.cpuSeconds, cpuSecondsPer1000Probes: fpingPerK, peakRssMB: mb(fping.maxRssBytes), wallSeconds: fping.wallSeconds },
    ratioCpuPerProbe: agentPerK / fpingPerK,
    ratioNodeFloorToFping: floorPerK / fpingPerK,
    goals: { cpuAtMost2xFping: agentPerK <= 2 * fpingPerK, rssAtMost80MB: mb(agent.maxRssBytes) <= 80 },
  };
  const rows = [
    ['', `agent (${agent.timestamps} timestamps)`, `agent (raw-socket, ${rawAgent.timestamps} timestamps)`, 'Node floor (the socket alone)', 'fping'],
    ['probes (lost)', `${agent.attempts} (${agent.failures})`, `${rawAgent.attempts} (${rawAgent.failures})`, `${floor.probes} (${floor.probes - floor.replies})`, `${fpingSent} (${fpingLost})`],
    ['CPU seconds', agent.cpuSeconds.toFixed(3), rawAgent.cpuSeconds.toFixed(3), floor.cpuSeconds.toFixed(3), fping.cpuSeconds.toFixed(2)],
    ['CPU s per 1,000 probes', agentPerK.toFixed(3), rawPerK.toFixed(3), floorPerK.toFixed(3), fpingPerK.toFixed(3)],
    ['peak RSS MB', mb(agent.maxRssBytes).toFixed(1), mb(rawAgent.maxRssBytes).toFixed(1), '–', mb(fping.maxRssBytes).toFixed(1)],
  ];
  const table = rows.map((r) => `| ${r.join(' | ')} |`).join('\n').replace(/\n/, `\n|---|---|---|---|---|\n`);
  const markdown = [
    '# ICMP CPU and memory: agent vs fping',
    '',
    `${targetCount} targets (127.0.1.x in separate throwaway namespaces), 1 probe/s each, ${seconds} s, same minute; agent scraped every ${scrapeEverySeconds} s (${scrapes} scrapes).`,
    `Agent: ${result.agent.how}; CPU from process.cpuUsage() over the window after a ${WARMUP_SECONDS} s warm-up (${agent.totalCpuSeconds.toFixed(2)} s including startup). fping: /usr/bin/time -v, whole run.`,
    `Machine: ${result.machine}.`,
    '',
    table,
    '',
    `CPU per probe: agent/fping = ${result.ratioCpuPerProbe.toFixed(2)}x (goal <= 2x: ${result.goals.cpuAtMost2xFping ? 'met' : 'missed'}); the Node floor/fping = ${result.ratioNodeFloorToFping.toFixed(2)}x; peak RSS goal <= 80 MB: ${result.goals.rssAtMost80MB ? 'met' : 'missed'}.`,
    `fping's CPU comes from /usr/bin/time in 10 ms ticks (${Math.round(fping.cpuSeconds * 100)} ticks here), user and system each to a tick, so its figure is good to ±${((0.02 / fping.cpuSeconds) * 100).toFixed(0)}%.`,
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  writeResults('icmp-cpu', result, markdown);
} finally {
  await removeNamespace(agentNs);
  await removeNamespace(rawNs);
  await removeNamespace(fpingNs);
  await removeNamespace(floorNs);
  rmSync(dir, { recursive: true, force: true });
}
