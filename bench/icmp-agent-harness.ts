// Runs the agent's production probing path — Agent (config → ProbeScheduler → IcmpProber →
// AgentMetrics on a Registry with default process metrics) and, optionally, the /metrics HTTP
// exporter — for a fixed time inside whatever namespace it is started in, then prints one JSON line
// with what it measured about itself. Used by bench/icmp-cpu.ts and bench/icmp-accuracy.ts.
// Usage: node dist/bench/icmp-agent-harness.js '<HarnessSpec JSON>' (compiled, as production runs) or
// node --import tsx bench/icmp-agent-harness.ts '<HarnessSpec JSON>'. Progress events go to stderr as
// JSON lines: {"event":"listening","url":…} and {"event":"measuring"}.
import pino from 'pino';
import { Agent } from '../agent/agent.js';
import { loadConfigFile } from '../agent/config/load.js';
import { IcmpProber, icmpProber } from '../agent/probes/icmp/prober.js';
import type { IcmpTransport } from '../agent/probes/icmp/socket.js';
import { PROBERS } from '../agent/probes/registry.js';
import type { Prober } from '../agent/probes/types.js';
import { exporterHandler } from '../agent/http/handler.js';
import { startWebServer } from '../web/server.js';

export interface HarnessSpec {
  configFile: string;
  /** Seconds of probing before the measured window starts (JIT warm-up). */
  warmupSeconds: number;
  measureSeconds: number;
  /** Keep every successful RTT of the measured window (costs a little memory and CPU). */
  recordRtts?: boolean;
  /** Serve /metrics on 127.0.0.1:<free port> (announced on stderr) for an outside scraper. */
  serveMetrics?: boolean;
  /** ICMP transport; default: the agent's own prober ('auto': a raw socket where permitted, else a ping socket). */
  transport?: IcmpTransport;
}

export interface HarnessOutput {
  timestamps: string;
  /** The socket type per address family ('raw' or 'ping'). */
  sockets: Record<string, string>;
  attempts: number;
  failures: number;
  /** user + system CPU of the whole process (all threads) during the measured window. */
  cpuSeconds: number;
  /** user + system CPU from process start (module loading included) to the end of the window. */
  totalCpuSeconds: number;
  maxRssBytes: number;
  /** process.memoryUsage() at the end. */
  memory: NodeJS.MemoryUsage;
  rttsSeconds?: number[];
  /** Exposition lines of linkmon_probe_duration_seconds_bucket at the end. */
  durationBuckets: string[];
}

const spec = JSON.parse(process.argv[2] ?? '{}') as HarnessSpec;
const log = pino({ level: 'warn' }, pino.destination(2));
const rtts: number[] = [];
let recording = false;
const prober = spec.transport ? new IcmpProber(spec.transport) : icmpProber;
const recordingProber: Prober<'icmp'> = {
  start: () => prober.start(),
  stop: () => prober.stop(),
  probe: async (ctx) => {
    const result = await prober.probe(ctx);
    if (recording && result.ok) rtts.push(result.durationSeconds);
    return result;
  },
};

const agent = new Agent(log, { ...PROBERS, icmp: async () => (spec.recordRtts ? recordingProber : prober) });
await agent.apply(await loadConfigFile(spec.configFile));
const server = spec.serveMetrics
  ? await startWebServer({
      listen: { address: '127.0.0.1', port: 0 },
      handler: exporterHandler({ registry: () => agent.registry, ready: () => agent.isReady(), statusPage: () => undefined, onError: () => {} }),
      log,
    })
  : undefined;
const announce = (event: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(event)}\n`);
if (server) announce({ event: 'listening', url: server.url });

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const attemptTotals = async () => {
  const metrics = agent.metrics!;
  const sum = async (metric: typeof metrics.attempts) => (await metric.get()).values.reduce((total, v) => total + v.value, 0);
  return { attempts: await sum(metrics.attempts), failures: await sum(metrics.failures) };
};
const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

await sleep(spec.warmupSeconds);
const before = await attemptTotals();
const cpuBefore = process.cpuUsage();
recording = true;
announce({ event: 'measuring' });
await sleep(spec.measureSeconds);
recording = false;
const cpuWindow = process.cpuUsage(cpuBefore);
const after = await attemptTotals();
const totalCpu = process.cpuUsage();

const durationText = await agent.registry!.getSingleMetricAsString('linkmon_probe_duration_seconds');
const output: HarnessOutput = {
  timestamps: prober.timestampSource() ?? 'unavailable',
  sockets: Object.fromEntries(prober.sockets().map((s) => [`ipv${s.ipVersion}`, s.socket])),
  attempts: after.attempts - before.attempts,
  failures: after.failures - before.failures,
  cpuSeconds: cpuSeconds(cpuWindow),
  totalCpuSeconds: cpuSeconds(totalCpu),
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  memory: process.memoryUsage(),
  ...(spec.recordRtts ? { rttsSeconds: rtts } : {}),
  durationBuckets: durationText.split('\n').filter((line) => line.startsWith('linkmon_probe_duration_seconds_bucket')),
};
await server?.close();
await agent.stop();
// Exit only once the (possibly large) line is flushed: writes to a pipe are asynchronous.
process.stdout.write(`${JSON.stringify(output)}\n`, () => process.exit(0));
