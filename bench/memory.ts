// Memory of the agent next to smokeping_prober and a bare Node process, all running in the same
// minutes, each in its own throwaway namespace (loopback only; targets 127.0.1.1-50 there):
//   - agent, 50 ICMP targets at 1/s (interval 1s), read after `--short` seconds (60), and at the end;
//   - agent, 50 ICMP targets at 10/s (interval 1s, 10 packets), for `--seconds` (360);
//   - the demo (`linkmon` without arguments: 5 kinds, responder in-process), for `--seconds`;
//   - smokeping_prober (Debian prometheus-smokeping-prober) on the same 50 targets at 1/s and at 10/s;
//   - bare `node -e setInterval` with and without the reporting preload (what the preload costs).
// Agents run as production does: the bundle `npm run build` makes (scripts/bundle.mjs, rebuilt here), plain
// node, cli entry; --peer-cli runs a second set (both agents and the demo) from another build's cli next
// to them, e.g. a checkout of the base commit, for a before/after in the same minutes. Every /metrics endpoint
// is scraped every `--scrape` seconds with curl, as Prometheus would. RSS, RssAnon, RssFile and VmHWM
// (the peak) come from /proc/<pid>/status every second; CPU from /proc/<pid>/stat. Node's own
// figures (heap used/total, external, array buffers, V8 heap spaces) come from bench/lib/memory-report.ts,
// preloaded with --import, on SIGUSR2; Go's heap from smokeping_prober's go_memstats_* metrics.
// Goals (issue #16): 50 targets at 1/s RSS <= 60 MiB after 60 s, peak <= 64 MiB; 50 at 10/s <= 64 MiB;
// the demo <= 80 MiB.
// Root required (namespaces, raw sockets); Debian prometheus-smokeping-prober and curl.
// Usage: npx tsx bench/memory.ts [--seconds 360] [--short 60] [--targets 50] [--scrape 15]
//        [--agent-flags="more V8 flags for the two agents"] [--plain: without the deployed environment] [--name memory]
//        [--peer-cli /path/to/other/dist/cli/linkmon.js] [--gc: a full collection in each Node process before
//        each read-out, so it shows what is retained; RSS, peak and the mean over time stay as sampled]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { inNetns, run } from '../test/lab/run.js';
import { killOnProcessExit } from '../test/support/exit-cleanup.js';
import { metricsUrlFromLog, waitFor } from '../test/support/linkmon-process.js';
import { bundleCli, compiledPath, compileForBench, createLoopbackNamespace, deployedAgentEnvironment, describeEnvironment, machineNote, removeNamespace, REPO_ROOT, sleep, writeResults } from './icmp-bench-support.js';
import type { MemoryReport } from './lib/memory-report.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '360' },
    short: { type: 'string', default: '60' },
    targets: { type: 'string', default: '50' },
    scrape: { type: 'string', default: '15' },
    'agent-flags': { type: 'string', default: '' },
    plain: { type: 'boolean', default: false },
    name: { type: 'string', default: 'memory' },
    'peer-cli': { type: 'string' },
    /** Node flags of the peer agents instead of --agent-flags: one build, two settings, same run. */
    'peer-agent-flags': { type: 'string' },
    gc: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const shortSeconds = Math.min(Number(values.short), seconds);
const targetCount = Number(values.targets);
const scrapeEverySeconds = Number(values.scrape);
// The two agents run with the environment they are deployed with (NODE_OPTIONS, MALLOC_ARENA_MAX) unless
// --plain, plus any --agent-flags; the demo, run by hand, with neither.
const agentFlags = values['agent-flags'].split(/\s+/).filter(Boolean);
const agentEnv = values.plain ? {} : deployedAgentEnvironment();
const peerCli = values['peer-cli'];
const peerAgentFlags = values['peer-agent-flags'] === undefined ? agentFlags : values['peer-agent-flags'].split(/\s+/).filter(Boolean);
const PRELOAD = 'bench/lib/memory-report.ts';
const SMOKEPING = '/usr/bin/prometheus-smokeping-prober';
const SMOKEPING_PORT = 9374; // alone in its namespace
const MiB = 1024 * 1024;
const targets = Array.from({ length: targetCount }, (_, i) => `127.0.1.${i + 1}`);

interface ProcSample {
  t: number;
  rss: number;
  rssAnon: number;
  rssFile: number;
  hwm: number;
}

interface Checkpoint {
  atSeconds: number;
  load1: number;
  proc: ProcSample;
  cpuSeconds: number;
  node?: MemoryReport;
  go?: { heapInuse: number; heapAlloc: number; sys: number; stackInuse: number };
}

interface Measured {
  name: string;
  what: string;
  runtime: 'node' | 'go';
  ns: string;
  child: ChildProcess;
  output: () => string;
  memoryFile?: string;
  metricsUrl?: string;
  samples: ProcSample[];
  cpuAtStart: number;
  checkpoints: Checkpoint[];
}

function procStatus(pid: number): Omit<ProcSample, 't'> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib('VmRSS'), rssAnon: kib('RssAnon'), rssFile: kib('RssFile'), hwm: kib('VmHWM') };
}

/** utime + stime of the whole process (all threads), in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // fields 14 and 15 of stat(5); CLK_TCK is 100 on Linux
}

function agentConfig(packetsPerSecond: number): string {
  return [
    'site: {id: bench, name: memory bench}',
    'listen: {address: 127.0.0.1, port: 0}',
    'modules:',
    `  ping: {kind: icmp, interval: 1s, timeout: 1s, packets: ${packetsPerSecond}, payload_bytes: 56}`,
    'targets:',
    ...targets.map((host, i) => `  - {name: t${String(i + 1).padStart(2, '0')}, module: ping, host: ${host}, labels: {link: hsl}}`),
    '',
  ].join('\n');
}

/** smokeping_prober 0.6 config: the same targets, echo size and rate as the agent's. */
function smokepingConfig(packetsPerSecond: number): string {
  const file = join(dir, `smokeping-${packetsPerSecond}.yml`);
  writeFileSync(file, ['targets:', `  - hosts: [${targets.join(', ')}]`, `    interval: ${1000 / packetsPerSecond}ms`, '    protocol: icmp', '    size: 56', ''].join('\n'));
  return file;
}

const dir = mkdtempSync(join(tmpdir(), 'linkmon-memory-'));
const started: Measured[] = [];

function start(name: string, what: string, runtime: 'node' | 'go', ns: string, argv: string[], options: { report?: boolean; env?: Record<string, string> } = {}): Measured {
  const memoryFile = runtime === 'node' && options.report !== false ? join(dir, `${name}.jsonl`) : undefined;
  const command = inNetns(ns, argv);
  // `ip netns exec` execs the command, so the child's pid is the measured process itself.
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env, ...(memoryFile ? { LINKMON_BENCH_MEMORY_FILE: memoryFile, ...(values.gc ? { LINKMON_BENCH_GC_BEFORE_REPORT: '1' } : {}) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnProcessExit(child);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const measured: Measured = { name, what, runtime, ns, child, output: () => output, ...(memoryFile ? { memoryFile } : {}), samples: [], cpuAtStart: 0, checkpoints: [] };
  started.push(measured);
  return measured;
}

const nodeWithPreload = [process.execPath, ...(values.gc ? ['--expose-gc'] : []), '--import', pathToUrl(compiledPath(PRELOAD))];
function pathToUrl(path: string): string {
  return new URL(`file://${path}`).href;
}

async function scrape(m: Measured): Promise<string> {
  if (!m.metricsUrl) return '';
  const { stdout } = await run(inNetns(m.ns, ['curl', '-sf', '--max-time', '10', m.metricsUrl]), { allowFailure: true, timeoutMs: 15_000 });
  return stdout;
}

function goMemstats(text: string): Checkpoint['go'] {
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { heapInuse: value('go_memstats_heap_inuse_bytes'), heapAlloc: value('go_memstats_heap_alloc_bytes'), sys: value('go_memstats_sys_bytes'), stackInuse: value('go_memstats_stack_inuse_bytes') };
}

async function checkpoint(m: Measured, atSeconds: number): Promise<Checkpoint> {
  const pid = m.child.pid!;
  let node: MemoryReport | undefined;
  if (m.memoryFile) {
    const before = existsSync(m.memoryFile) ? readFileSync(m.memoryFile, 'utf8').length : 0;
    process.kill(pid, 'SIGUSR2');
    for (let i = 0; i < 50 && (existsSync(m.memoryFile) ? readFileSync(m.memoryFile, 'utf8').length : 0) === before; i++) await sleep(100);
    const lines = readFileSync(m.memoryFile, 'utf8').trim().split('\n');
    node = JSON.parse(lines.at(-1)!) as MemoryReport;
  }
  const go = m.runtime === 'go' ? goMemstats(await scrape(m)) : undefined;
  return { atSeconds, load1: loadavg()[0]!, proc: { t: atSeconds, ...procStatus(pid) }, cpuSeconds: cpuSeconds(pid) - m.cpuAtStart, ...(node ? { node } : {}), ...(go ? { go } : {}) };
}

console.log('bundling the agent (scripts/bundle.mjs) and compiling the memory preload into dist/ …');
const cliPath = await bundleCli();
await compileForBench([PRELOAD]);
for (const file of ['agent-1.yaml', 'agent-10.yaml']) writeFileSync(join(dir, file), agentConfig(file === 'agent-1.yaml' ? 1 : 10));

const namespaces: string[] = [];
const loadAtStart = loadavg();
try {
  const ns = async (suffix: string) => {
    const name = await createLoopbackNamespace(suffix);
    namespaces.push(name);
    return name;
  };
  const agent1 = start('agent-1', `agent, ${targetCount} ICMP targets at 1/s`, 'node', await ns('mem1'), [...nodeWithPreload, ...agentFlags, cliPath, 'agent', '--config', join(dir, 'agent-1.yaml')], { env: agentEnv });
  const agent10 = start('agent-10', `agent, ${targetCount} ICMP targets at 10/s`, 'node', await ns('mem10'), [...nodeWithPreload, ...agentFlags, cliPath, 'agent', '--config', join(dir, 'agent-10.yaml')], { env: agentEnv });
  const demo = start('demo', 'the demo (5 kinds, responder in-process)', 'node', await ns('memdemo'), [...nodeWithPreload, cliPath]);
  const peers = peerCli
    ? [
        start('peer-agent-1', `peer: agent, ${targetCount} ICMP targets at 1/s`, 'node', await ns('memp1'), [...nodeWithPreload, ...peerAgentFlags, peerCli, 'agent', '--config', join(dir, 'agent-1.yaml')], { env: agentEnv }),
        start('peer-agent-10', `peer: agent, ${targetCount} ICMP targets at 10/s`, 'node', await ns('memp10'), [...nodeWithPreload, ...peerAgentFlags, peerCli, 'agent', '--config', join(dir, 'agent-10.yaml')], { env: agentEnv }),
        start('peer-demo', 'peer: the demo', 'node', await ns('mempdemo'), [...nodeWithPreload, peerCli]),
      ]
    : [];
  const smokeping = (packetsPerSecond: number, nsName: string) =>
    start(`smokeping-${packetsPerSecond}`, `smokeping_prober, ${targetCount} targets at ${packetsPerSecond}/s`, 'go', nsName, [
      SMOKEPING,
      '--privileged',
      `--web.listen-address=127.0.0.1:${SMOKEPING_PORT}`,
      `--config.file=${smokepingConfig(packetsPerSecond)}`,
    ]);
  const smokeping1 = smokeping(1, await ns('memsp1'));
  const smokeping10 = smokeping(10, await ns('memsp10'));
  start('bare-node', 'bare `node -e setInterval`, with the reporting preload', 'node', await ns('membare'), [...nodeWithPreload, '-e', 'setInterval(() => {}, 1000)']);
  start('bare-node-plain', 'bare `node -e setInterval`, no preload (RSS only)', 'node', await ns('membare0'), [process.execPath, '-e', 'setInterval(() => {}, 1000)'], { report: false });

  for (const agent of [agent1, agent10, demo, ...peers]) agent.metricsUrl = await metricsUrlFromLog(agent);
  for (const sp of [smokeping1, smokeping10]) {
    sp.metricsUrl = `http://127.0.0.1:${SMOKEPING_PORT}/metrics`;
    await waitFor('smokeping_prober listening', async () => ((await scrape(sp)).length > 0 ? true : undefined), 30_000, 200);
  }
  for (const m of started) if (m.child.exitCode !== null) throw new Error(`${m.name} exited ${m.child.exitCode}:\n${m.output().slice(-4000)}`);
  const origin = performance.now();
  for (const m of started) m.cpuAtStart = cpuSeconds(m.child.pid!);
  console.log(`all ${started.length} processes up; measuring for ${seconds} s (first read-out at ${shortSeconds} s)`);

  const loadSamples: number[] = [];
  let scrapes = 0;
  let nextScrape = scrapeEverySeconds;
  let shortDone = false;
  for (let t = 1; t <= seconds; t++) {
    await sleep(Math.max(0, origin + t * 1000 - performance.now()));
    loadSamples.push(loadavg()[0]!);
    for (const m of started) {
      if (m.child.exitCode !== null || m.child.signalCode !== null) throw new Error(`${m.name} exited (${m.child.exitCode ?? m.child.signalCode}):\n${m.output().slice(-4000)}`);
      m.samples.push({ t, ...procStatus(m.child.pid!) });
    }
    if (scrapeEverySeconds > 0 && t >= nextScrape) {
      nextScrape += scrapeEverySeconds;
      scrapes++;
      void Promise.all(started.filter((m) => m.metricsUrl).map(scrape));
    }
    if (!shortDone && t >= shortSeconds) {
      shortDone = true;
      for (const m of started) m.checkpoints.push(await checkpoint(m, t));
      console.log(`${t} s: agent at 1/s RSS ${(agent1.checkpoints[0]!.proc.rss / MiB).toFixed(1)} MiB, smokeping_prober ${(smokeping1.checkpoints[0]!.proc.rss / MiB).toFixed(1)} MiB`);
    }
    if (t % 60 === 0) console.log(`${t} s: ${started.map((m) => `${m.name} ${(m.samples.at(-1)!.rss / MiB).toFixed(1)}`).join(', ')} MiB; load ${loadavg()[0]!.toFixed(2)}`);
  }
  if (seconds > shortSeconds) for (const m of started) m.checkpoints.push(await checkpoint(m, seconds));
  const loadAtEnd = loadavg();

  const summary = started.map((m) => {
    const window = (from: number) => m.samples.filter((s) => s.t > from);
    const meanRss = (from: number) => window(from).reduce((sum, s) => sum + s.rss, 0) / Math.max(1, window(from).length);
    return {
      name: m.name,
      what: m.what,
      runtime: m.runtime,
      meanRssLastHalfMiB: meanRss(seconds / 2) / MiB,
      maxSampledRssMiB: Math.max(...m.samples.map((s) => s.rss)) / MiB,
      checkpoints: m.checkpoints,
    };
  });
  const result = {
    machine: machineNote(),
    command: `npx tsx bench/memory.ts --seconds ${seconds} --short ${shortSeconds} --targets ${targetCount} --scrape ${scrapeEverySeconds}${values.plain ? ' --plain' : ''}${agentFlags.length ? ` --agent-flags="${agentFlags.join(' ')}"` : ''}${peerCli ? ` --peer-cli ${peerCli}` : ''}${values['peer-agent-flags'] !== undefined ? ` --peer-agent-flags="${peerAgentFlags.join(' ')}"` : ''}${values.gc ? ' --gc' : ''}`,
    agentNodeFlags: agentFlags,
    agentEnvironment: agentEnv,
    load: { atStart: loadAtStart, atEnd: loadAtEnd, mean1min: loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length, max1min: Math.max(...loadSamples) },
    scrapes,
    goals: goalsOf(summary),
    processes: summary,
  };
  const markdown = renderMarkdown(result);
  console.log(`\n${markdown}`);
  writeResults(values.name, result, markdown);
} finally {
  for (const m of started) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGTERM');
  await sleep(500);
  for (const name of namespaces) await removeNamespace(name);
  rmSync(dir, { recursive: true, force: true });
}

type Summary = { name: string; what: string; runtime: 'node' | 'go'; meanRssLastHalfMiB: number; maxSampledRssMiB: number; checkpoints: Checkpoint[] };

function at(summary: Summary[], name: string, which: 'first' | 'last'): Checkpoint | undefined {
  const s = summary.find((p) => p.name === name);
  return which === 'first' ? s?.checkpoints[0] : s?.checkpoints.at(-1);
}

function goalsOf(summary: Summary[]) {
  const short = at(summary, 'agent-1', 'first')!;
  const fast = at(summary, 'agent-10', 'last')!;
  const demo = at(summary, 'demo', 'last')!;
  return {
    oneHzRssAfterShortAtMost60MiB: short.proc.rss <= 60 * MiB,
    oneHzPeakAtMost64MiB: short.proc.hwm <= 64 * MiB,
    tenHzRssAtMost64MiB: fast.proc.rss <= 64 * MiB,
    tenHzPeakAtMost64MiB: fast.proc.hwm <= 64 * MiB,
    demoRssAtMost80MiB: demo.proc.rss <= 80 * MiB,
    demoPeakAtMost80MiB: demo.proc.hwm <= 80 * MiB,
  };
}

function renderMarkdown(result: { machine: string; command: string; load: { atStart: number[]; atEnd: number[]; mean1min: number; max1min: number }; scrapes: number; goals: ReturnType<typeof goalsOf>; processes: Summary[] }): string {
  const mib = (bytes: number | undefined) => (bytes === undefined || Number.isNaN(bytes) ? '–' : (bytes / MiB).toFixed(1));
  const row = (s: Summary, c: Checkpoint) => {
    const heap = c.node ? `${mib(c.node.usage.heapUsed)} / ${mib(c.node.usage.heapTotal)}` : c.go ? `${mib(c.go.heapInuse)} in use (Go)` : '–';
    return `| ${s.what} | ${c.atSeconds} s | **${mib(c.proc.rss)}** | ${mib(c.proc.hwm)} | ${mib(c.proc.rssAnon)} / ${mib(c.proc.rssFile)} | ${heap} | ${mib(c.node?.usage.external)} | ${mib(c.node?.usage.arrayBuffers)} | ${c.cpuSeconds.toFixed(2)} | ${c.load1.toFixed(2)} |`;
  };
  const rows = result.processes.flatMap((s) => s.checkpoints.map((c) => row(s, c)));
  const spaces = result.processes
    .filter((s) => s.runtime === 'node' && s.checkpoints.at(-1)?.node)
    .map((s) => {
      const c = s.checkpoints.at(-1)!;
      const parts = Object.entries(c.node!.spaces).map(([space, v]) => `${space.replace(/_space$/, '')} ${mib(v.used)}/${mib(v.size)}`);
      return `- ${s.name} at ${c.atSeconds} s: ${parts.join(', ')}; malloced ${mib(c.node!.heap.mallocedMemory)} (peak ${mib(c.node!.heap.peakMallocedMemory)})`;
    });
  const goal = (ok: boolean) => (ok ? 'met' : 'missed');
  return [
    '# Memory: agent vs smokeping_prober and bare Node',
    '',
    `\`${result.command}\`. All processes side by side in the same ${result.processes[0]?.checkpoints.at(-1)?.atSeconds ?? '?'} s, each in its own namespace, probing 127.0.1.1-${targetCount} there; every /metrics scraped every ${scrapeEverySeconds} s (${result.scrapes} times).`,
    `Agents: the bundle of scripts/bundle.mjs (dist/cli/linkmon.js)${peerCli ? `; peer rows: ${peerCli}${values['peer-agent-flags'] !== undefined ? `, its agents with node ${peerAgentFlags.join(' ') || 'without extra flags'}` : ''}` : ''}, through the cli entry, node ${agentFlags.join(' ') || 'without extra flags'}, with ${values.plain ? 'no deployed environment (--plain)' : `the deployed ${describeEnvironment(agentEnv)} (deploy/systemd/linkmon-agent.service)`}; the demo as run by hand, with neither. Node processes preload bench/lib/memory-report.ts (its cost: the two bare Node rows).`,
    `RSS = VmRSS (RssAnon / RssFile: anonymous memory / mapped file pages, mostly the node binary); peak = VmHWM since process start. MiB = 2^20 bytes.${values.gc ? ' Read-outs of Node processes (--gc): after a full collection, so RSS there is what is retained; the mean over time is as sampled.' : ''}`,
    `Load average (1 min): ${result.load.atStart.map((l) => l.toFixed(2)).join(' ')} at start, mean ${result.load.mean1min.toFixed(2)}, max ${result.load.max1min.toFixed(2)}, ${result.load.atEnd.map((l) => l.toFixed(2)).join(' ')} at end. Machine: ${result.machine}.`,
    '',
    '| process | at | RSS MiB | peak MiB | anon / file MiB | heap used / total MiB | external MiB | array buffers MiB | CPU s | load (1 min) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Mean RSS over the second half: ${result.processes.map((s) => `${s.name} ${s.meanRssLastHalfMiB.toFixed(1)}`).join(', ')} MiB.`,
    '',
    'V8 heap spaces (used/size MiB) at the end:',
    ...spaces,
    '',
    `Goals: 1/s RSS <= 60 MiB after ${shortSeconds} s ${goal(result.goals.oneHzRssAfterShortAtMost60MiB)}, peak <= 64 MiB ${goal(result.goals.oneHzPeakAtMost64MiB)}; ` +
      `10/s RSS <= 64 MiB ${goal(result.goals.tenHzRssAtMost64MiB)} (peak ${goal(result.goals.tenHzPeakAtMost64MiB)}); demo <= 80 MiB ${goal(result.goals.demoRssAtMost80MiB)} (peak ${goal(result.goals.demoPeakAtMost80MiB)}).`,
    '',
  ].join('\n');
}
