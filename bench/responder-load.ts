// Responder under the load of the whole estate: 14 sites' UDP probes at 50 packets/s each (14
// sender sockets, the agent's own prober) for 30 s, first alone, then with one throughput download
// running at the same time, over a lab link shaped to the HSL's 1 Gbit/s. Measures the responder
// process's CPU (seconds per minute, from /proc) and the RTT the UDP probe adds over the kernel's
// ICMP echo on the same link at the same time (medians). Needs root, iproute2, nftables, iputils-ping, curl.
// Run: npx tsx bench/responder-load.ts   (writes bench/results/responder-load.json)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../test/lab/lab.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const STREAMS = 14;
const PPS = 50;
const PHASE_SECONDS = 30;
const PING_INTERVAL_S = 0.02;
const TOKEN = 'bench-token-0123456789abcdef';
const LINK_MBIT = 1000;
const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux x86-64

interface LoadResult {
  replies: number;
  failures: number;
  sent_site_to_dc: number;
  lost_site_to_dc: number;
  sent_dc_to_site: number;
  lost_dc_to_site: number;
  rtt_seconds: number[];
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime + stime
}

function collect(child: ReturnType<Lab['spawn']>): Promise<string> {
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', () => {});
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve(out));
  });
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error('load driver did not start within 30 s');
}

async function waitForPort(lab: Lab, url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { code } = await lab.exec(lab.site(), ['curl', '-s', '-o', '/dev/null', '--max-time', '1', url], { allowFailure: true });
    if (code === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`responder at ${url} did not come up`);
}

async function phase(lab: Lab, responderPid: number, withDownload: boolean) {
  const dc = lab.dcAddress();
  const node = [process.execPath, '--import', 'tsx'];
  const driver = lab.spawn(lab.site(), [...node, join(REPO, 'bench/lib/udp-probe-load.ts'), dc, '9483', String(STREAMS), String(PPS), String(PHASE_SECONDS)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  // The CPU window is the load itself: from the driver's first packet to its last (not its start-up).
  const window = { cpuBefore: 0, started: 0, cpuAfter: 0, ended: 0 };
  driver.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (text.includes('load started')) Object.assign(window, { cpuBefore: cpuSeconds(responderPid), started: performance.now() });
    if (text.includes('load finished')) Object.assign(window, { cpuAfter: cpuSeconds(responderPid), ended: performance.now() });
  });
  const load = collect(driver);
  await waitUntil(() => window.started > 0);
  const pings = collect(
    lab.spawn(lab.site(), ['ping', '-n', '-i', String(PING_INTERVAL_S), '-c', String(Math.round(PHASE_SECONDS / PING_INTERVAL_S)), '-W', '1', dc], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const download = withDownload
    ? collect(
        lab.spawn(
          lab.site(),
          ['curl', '-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', '-H', `Authorization: Bearer ${TOKEN}`, `http://${dc}:9480/download?seconds=${PHASE_SECONDS - 2}`],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      )
    : Promise.resolve('');
  const [loadOut, pingOut, downloadOut] = await Promise.all([load, pings, download]);
  const wallSeconds = (window.ended - window.started) / 1000;
  const cpu = window.cpuAfter - window.cpuBefore;
  const result = JSON.parse(loadOut.trim().split('\n').at(-1)!) as LoadResult;
  const pingRtts = [...pingOut.matchAll(/time=([0-9.]+) ms/g)].map((m) => Number(m[1]) / 1000);
  const [bytes, seconds] = downloadOut.split(' ').map(Number);
  const udpMedian = quantile(result.rtt_seconds, 0.5);
  const pingMedian = quantile(pingRtts, 0.5);
  return {
    with_download: withDownload,
    load_seconds: Number(wallSeconds.toFixed(1)),
    responder_cpu_seconds: Number(cpu.toFixed(2)),
    responder_cpu_seconds_per_minute: Number(((cpu / wallSeconds) * 60).toFixed(2)),
    udp_packets: result.sent_site_to_dc,
    udp_replies: result.replies,
    udp_lost: { site_to_dc: result.lost_site_to_dc, dc_to_site: result.lost_dc_to_site },
    udp_rtt_ms: { p50: ms(udpMedian), p90: ms(quantile(result.rtt_seconds, 0.9)), p99: ms(quantile(result.rtt_seconds, 0.99)) },
    icmp_rtt_ms: { p50: ms(pingMedian), p90: ms(quantile(pingRtts, 0.9)), p99: ms(quantile(pingRtts, 0.99)), replies: pingRtts.length },
    added_rtt_ms_median: ms(udpMedian - pingMedian),
    ...(withDownload && bytes !== undefined && seconds ? { download_mbit_per_s: Number(((bytes * 8) / seconds / 1e6).toFixed(1)) } : {}),
  };
}

const ms = (seconds: number) => Number((seconds * 1000).toFixed(3));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-bench-responder-'));
  const lab = await createLab({ sites: 1 });
  try {
    await lab.setRate('site_to_dc', { mbit: LINK_MBIT });
    await lab.setRate('dc_to_site', { mbit: LINK_MBIT });
    const config = join(dir, 'responder.yaml');
    writeFileSync(
      config,
      [
        `listen: { address: ${lab.dcAddress()} }`,
        'http: { port: 9480 }',
        'tcp: { enabled: false }',
        // All 14 streams come from one address here; the per-source limit is per address.
        'udp: { port: 9483, rate_limit: { packets_per_second: 2000, burst: 500 } }',
        'auth: { token_env: BENCH_TOKENS }',
        'limits: { max_seconds: 60s }',
        'log: { level: warn }',
        '',
      ].join('\n'),
    );
    const responder = lab.spawn(lab.dc, [process.execPath, '--import', 'tsx', join(REPO, 'cli/linkmon.ts'), 'responder', '--config', config], {
      cwd: REPO,
      env: { ...process.env, BENCH_TOKENS: TOKEN },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await waitForPort(lab, `http://${lab.dcAddress()}:9480/healthz`);
    const idleStart = cpuSeconds(responder.pid!);
    await new Promise((r) => setTimeout(r, 5000));
    const idle = ((cpuSeconds(responder.pid!) - idleStart) / 5) * 60;
    const phases = [await phase(lab, responder.pid!, false), await phase(lab, responder.pid!, true)];
    const result = {
      benchmark: 'responder-load',
      when: new Date().toISOString(),
      machine: 'shared 2-core VM, other engineers running tests at the same time',
      setup: `${STREAMS} UDP probe streams x ${PPS} packets/s (64-byte payload), ${PHASE_SECONDS}s per phase, ping -i ${PING_INTERVAL_S} alongside; lab link tbf ${LINK_MBIT} Mbit/s each way`,
      responder_idle_cpu_seconds_per_minute: Number(idle.toFixed(2)),
      phases,
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(join(REPO, 'bench/results'), { recursive: true });
    writeFileSync(join(REPO, 'bench/results/responder-load.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
