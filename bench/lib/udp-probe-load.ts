// Runs N UDP probe streams (one socket each, the agent's own prober) at a fixed rate against a
// reflector for a fixed time, then prints one JSON line: sent, lost per direction and RTTs.
// Usage (inside a site namespace): node --import tsx bench/lib/udp-probe-load.ts HOST PORT STREAMS PPS SECONDS
import { Registry } from 'prom-client';
import type { ModuleOf, ProbeResult } from '../../agent/probes/types.js';
import { createUdpProber } from '../../agent/probes/udp/prober.js';

const [host = '127.0.0.1', portText = '9483', streamsText = '14', ppsText = '50', secondsText = '30'] = process.argv.slice(2);
const port = Number(portText);
const streams = Number(streamsText);
const pps = Number(ppsText);
const seconds = Number(secondsText);
const TIMEOUT_SECONDS = 1;

const registry = new Registry();
// One prober with one target per stream, as in the agent: one socket (session) per target.
const prober = createUdpProber();
const metrics = prober.createMetrics!(registry, ['target', 'kind']);
const rtts: number[] = [];
let failures = 0;

async function stream(index: number): Promise<void> {
  const labels = { target: `site${index + 1}`, kind: 'udp' };
  metrics.addTarget(labels);
  const module: ModuleOf<'udp'> = { kind: 'udp', interval: 1, timeout: TIMEOUT_SECONDS, packets: pps, packet_bytes: 64, port };
  const ctx = { target: { name: labels.target, module: 'udp', host, port, labels: {} }, module, labels, signal: new AbortController().signal };
  const periodMs = 1000 / pps;
  const start = performance.now() + (index * periodMs) / streams; // staggered like 14 independent sites
  const total = Math.round(seconds * pps);
  const pending: Promise<ProbeResult>[] = [];
  for (let k = 0; k < total; k++) {
    const due = start + k * periodMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      prober.probe(ctx).then((result) => {
        if (result.ok) rtts.push(result.durationSeconds);
        else failures += 1;
        return result;
      }),
    );
  }
  await Promise.all(pending);
}

process.stderr.write('load started\n');
await Promise.all(Array.from({ length: streams }, (_, i) => stream(i)));
process.stderr.write('load finished\n');
// Let the last packets settle, then read the per-direction counters.
await new Promise((r) => setTimeout(r, 100));
const sum = async (name: string, direction: string) => {
  const metric = registry.getSingleMetric(name);
  const { values } = await metric!.get();
  return values.filter((v) => v.labels.direction === direction).reduce((a, v) => a + v.value, 0);
};
const summary = {
  streams,
  pps,
  seconds,
  replies: rtts.length,
  failures,
  sent_site_to_dc: await sum('linkmon_udp_packets_sent_total', 'site_to_dc'),
  lost_site_to_dc: await sum('linkmon_udp_packets_lost_total', 'site_to_dc'),
  sent_dc_to_site: await sum('linkmon_udp_packets_sent_total', 'dc_to_site'),
  lost_dc_to_site: await sum('linkmon_udp_packets_lost_total', 'dc_to_site'),
  rtt_seconds: rtts,
};
await prober.stop!();
process.stdout.write(`${JSON.stringify(summary)}\n`);
