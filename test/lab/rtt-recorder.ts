// Runs the agent's probing path (Agent → ProbeScheduler → IcmpProber) with a prober wrapper that
// keeps every successful ICMP RTT per target, for tests that need exact quantiles rather than the
// exported histogram's 4% buckets. Root (raw ICMP socket); start it inside a lab namespace.
// Usage: node --import tsx test/lab/rtt-recorder.ts CONFIG_FILE WARMUP_SECONDS MEASURE_SECONDS [realtime]
// Prints one JSON line: { "<target>": [rtt ms, ...], ... }
// `realtime` moves the process to SCHED_FIFO (chrt, priority 5: below the delay line's 10) once it
// has loaded, so that on a shared, overloaded box the kernel's wake-up of the event loop for a
// reply is not delayed by other people's processes: the RTTs then show the probe path, not the
// box's load. Without it, a load average of ~15 on 2 cores adds ~0.4 ms to 20 ms RTTs.
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { Agent } from '../../agent/agent.js';
import { loadConfigFile } from '../../agent/config/load.js';
import { icmpProber } from '../../agent/probes/icmp/prober.js';
import { PROBERS } from '../../agent/probes/registry.js';
import type { Prober } from '../../agent/probes/types.js';

export type RecordedRtts = Record<string, number[]>;

const [configFile, warmupSeconds, measureSeconds, mode] = process.argv.slice(2);
const rtts: RecordedRtts = {};
let recording = false;
const recordingProber: Prober<'icmp'> = {
  start: () => icmpProber.start(),
  stop: () => icmpProber.stop(),
  probe: async (ctx) => {
    const result = await icmpProber.probe(ctx);
    if (recording && result.ok) (rtts[ctx.target.name] ??= []).push(result.durationSeconds * 1000);
    return result;
  },
};

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const agent = new Agent(pino({ level: 'warn' }, pino.destination(2)), { ...PROBERS, icmp: async () => recordingProber });
await agent.apply(await loadConfigFile(configFile!));
if (mode === 'realtime') execFileSync('chrt', ['--all-tasks', '--fifo', '--pid', '5', String(process.pid)]);
await sleep(Number(warmupSeconds));
recording = true;
await sleep(Number(measureSeconds));
recording = false;
await agent.stop();
process.stdout.write(`${JSON.stringify(rtts)}\n`);
process.exit(0);
