// linkmon's throughput test against iperf3 on the same lab link in one run: site 1 -> wan router
// (tbf per direction on the site's access link) -> dc, at 100 Mbit/s, 1 Gbit/s and unshaped, both
// directions, alternating the two tools. Both figures are receiver-side payload rates after a
// 1 s warm-up: linkmon's bytes_per_second, iperf3's end.sum_received (-O 1 omits its first second).
// CPU seconds per GB moved on both ends: the agent (`linkmon throughput`, its own process.cpuUsage() around
// the transfer) and the responder (/proc/<pid>/stat) against the iperf3 client (bash `times`
// around it) and server (/proc/<pid>/stat).
// The download's receiving side is also measured for a bare Node socket (bench/lib/download-floor.ts:
// the same /download read into one reused buffer, no HTTP parser): the floor any Node receiver pays.
// Goals: linkmon >= 0.97 x iperf3 at each shaped rate (issue #3); receiving CPU per GB <= 2 x iperf3's (issue #16).
// Root and Debian iperf3 required. Usage: npx tsx bench/throughput-vs-iperf3.ts [--seconds 5] [--repeats 2]
import { parseArgs } from 'node:util';
import type { ThroughputDirection } from '../agent/throughput/directions.js';
import { createLab, type Lab } from '../test/lab/lab.js';
import { LAB_TOKEN, processCpuSeconds, RESPONDER_PORT, startThroughputLab, type ThroughputLab } from '../test/agent/throughput/lab-harness.js';
import { GOODPUT_PER_WIRE_BYTE } from '../test/lab/iperf3.js';
import { waitFor } from '../test/support/linkmon-process.js';
import { compiledPath, compileForBench, machineNote, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, repeats: { type: 'string', default: '2' } } });
const SECONDS = Number(values.seconds);
const REPEATS = Number(values.repeats);
const WARMUP_SECONDS = 1;
const IPERF_PORT = 5201;
const RATES: (number | null)[] = [100, 1000, null];
const FLOOR = 'bench/lib/download-floor.ts';

interface Sample {
  tool: 'linkmon' | 'iperf3';
  bytesPerSecond: number;
  /** Payload moved during the whole run, warm-up included (what the CPU was spent on). */
  totalBytes: number;
  clientCpuSeconds: number;
  serverCpuSeconds: number;
}

interface Row {
  rate: string;
  direction: 'dc_to_site' | 'site_to_dc';
  expectedBytesPerSecond?: number;
  linkmon: Sample[];
  iperf3: Sample[];
  /** Downloads only: the bare-socket receiver. */
  floor: { bytes: number; cpuSeconds: number }[];
}

async function linkmonSample(setup: ThroughputLab, direction: ThroughputDirection): Promise<Sample> {
  const serverBefore = setup.responderCpuSeconds();
  const result = await setup.measure(direction);
  const serverCpuSeconds = setup.responderCpuSeconds() - serverBefore;
  if (result.outcome !== 'ok') throw new Error(`linkmon ${direction}: ${JSON.stringify(result)}`);
  return { tool: 'linkmon', bytesPerSecond: result.bytesPerSecond, totalBytes: result.totalBytes, clientCpuSeconds: result.agentCpuSeconds, serverCpuSeconds };
}

interface IperfJson {
  end: { sum_received: { bits_per_second: number } };
  intervals: { sum: { bytes: number } }[];
  error?: string;
}

async function iperfSample(lab: Lab, serverPid: number, reverse: boolean): Promise<Sample> {
  const serverBefore = processCpuSeconds(serverPid);
  const iperf = `iperf3 -c ${lab.dcAddress()} -p ${IPERF_PORT} -t ${SECONDS - WARMUP_SECONDS} -O ${WARMUP_SECONDS} -J ${reverse ? '-R' : ''}`;
  // bash's `times` prints the CPU of its finished children (the iperf3 client) on its second line.
  const { stdout, stderr } = await waitFor('the iperf3 server', () => lab.exec(lab.site(1), ['bash', '-c', `${iperf}; times >&2`]), 10_000, 200);
  const serverCpuSeconds = processCpuSeconds(serverPid) - serverBefore;
  const json = JSON.parse(stdout) as IperfJson;
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  const childTimes = stderr.trim().split('\n').at(-1)!.split(/\s+/).map(parseBashTime);
  return {
    tool: 'iperf3',
    bytesPerSecond: json.end.sum_received.bits_per_second / 8,
    totalBytes: json.intervals.reduce((sum, i) => sum + i.sum.bytes, 0),
    clientCpuSeconds: childTimes.reduce((a, b) => a + b, 0),
    serverCpuSeconds,
  };
}

/** "0m1.234s" -> 1.234 */
function parseBashTime(text: string): number {
  const match = /^(\d+)m([\d.]+)s$/.exec(text);
  if (!match) throw new Error(`unexpected \`times\` output: ${text}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

async function floorSample(lab: Lab): Promise<{ bytes: number; cpuSeconds: number }> {
  const spec = { host: lab.dcAddress(), port: RESPONDER_PORT, token: LAB_TOKEN, seconds: SECONDS };
  const { stdout } = await lab.exec(lab.site(1), [process.execPath, compiledPath(FLOOR), JSON.stringify(spec)], { timeoutMs: (SECONDS + 30) * 1000 });
  return JSON.parse(stdout) as { bytes: number; cpuSeconds: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const mbit = (bytesPerSecond: number) => (bytesPerSecond * 8) / 1e6;
const cpuPerGb = (samples: Sample[], end: 'clientCpuSeconds' | 'serverCpuSeconds') =>
  samples.reduce((sum, s) => sum + s[end], 0) / (samples.reduce((sum, s) => sum + s.totalBytes, 0) / 1e9);

await compileForBench([FLOOR]);
const lab = await createLab({ sites: 1 });
const rows: Row[] = [];
try {
  const setup = await startThroughputLab(lab, { duration: `${SECONDS}s`, warmup: `${WARMUP_SECONDS}s` });
  const iperfServer = lab.spawn(lab.dc, ['iperf3', '-s', '-B', lab.dcAddress(), '-p', String(IPERF_PORT)], { stdio: 'ignore' });
  try {
    for (const rate of RATES) {
      await lab.setRate('dc_to_site', rate === null ? null : { mbit: rate }, 1);
      await lab.setRate('site_to_dc', rate === null ? null : { mbit: rate }, 1);
      for (const direction of ['download', 'upload'] as const) {
        const row: Row = {
          rate: rate === null ? 'unshaped' : `${rate} Mbit/s`,
          direction: direction === 'download' ? 'dc_to_site' : 'site_to_dc',
          ...(rate === null ? {} : { expectedBytesPerSecond: ((rate * 1e6) / 8) * GOODPUT_PER_WIRE_BYTE }),
          linkmon: [],
          iperf3: [],
          floor: [],
        };
        for (let i = 0; i < REPEATS; i++) {
          row.linkmon.push(await linkmonSample(setup, direction));
          row.iperf3.push(await iperfSample(lab, iperfServer.pid!, direction === 'download'));
          if (direction === 'download') row.floor.push(await floorSample(lab));
          console.log(
            `${row.rate.padEnd(11)} ${row.direction}  linkmon ${mbit(row.linkmon.at(-1)!.bytesPerSecond).toFixed(1).padStart(7)} Mbit/s  iperf3 ${mbit(row.iperf3.at(-1)!.bytesPerSecond).toFixed(1).padStart(7)} Mbit/s`,
          );
        }
        rows.push(row);
      }
    }
  } finally {
    iperfServer.kill();
    await setup.stop();
  }
} finally {
  await lab.destroy();
}

const summary = rows.map((row) => {
  const linkmon = median(row.linkmon.map((s) => s.bytesPerSecond));
  const iperf3 = median(row.iperf3.map((s) => s.bytesPerSecond));
  return {
    rate: row.rate,
    direction: row.direction,
    linkmonMbit: Number(mbit(linkmon).toFixed(2)),
    iperf3Mbit: Number(mbit(iperf3).toFixed(2)),
    ratio: Number((linkmon / iperf3).toFixed(3)),
    ...(row.expectedBytesPerSecond ? { expectedGoodputMbit: Number(mbit(row.expectedBytesPerSecond).toFixed(2)) } : {}),
    cpuSecondsPerGb: {
      agent: Number(cpuPerGb(row.linkmon, 'clientCpuSeconds').toFixed(2)),
      responder: Number(cpuPerGb(row.linkmon, 'serverCpuSeconds').toFixed(2)),
      iperf3Client: Number(cpuPerGb(row.iperf3, 'clientCpuSeconds').toFixed(2)),
      iperf3Server: Number(cpuPerGb(row.iperf3, 'serverCpuSeconds').toFixed(2)),
      ...(row.floor.length ? { nodeFloorReceiver: Number((row.floor.reduce((sum, f) => sum + f.cpuSeconds, 0) / (row.floor.reduce((sum, f) => sum + f.bytes, 0) / 1e9)).toFixed(2)) } : {}),
    },
  };
});
/** The receiving end of each direction: the agent for downloads, the responder for uploads, against iperf3's receiver. */
const receiving = summary.map((s) => {
  const download = s.direction === 'dc_to_site';
  const linkmon = download ? s.cpuSecondsPerGb.agent : s.cpuSecondsPerGb.responder;
  const iperf3 = download ? s.cpuSecondsPerGb.iperf3Client : s.cpuSecondsPerGb.iperf3Server;
  return { rate: s.rate, direction: s.direction, receiver: download ? 'agent' : 'responder', linkmon, iperf3, ratio: Number((linkmon / iperf3).toFixed(2)), nodeFloor: s.cpuSecondsPerGb.nodeFloorReceiver };
});
const shapedOk = summary.filter((s) => s.rate !== 'unshaped').every((s) => s.ratio >= 0.97);

const table = [
  '| rate | direction | linkmon Mbit/s | iperf3 Mbit/s | linkmon / iperf3 | expected goodput | CPU s/GB agent | responder | iperf3 client | iperf3 server | bare Node socket (receiving) |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...summary.map(
    (s) =>
      `| ${s.rate} | ${s.direction} | ${s.linkmonMbit} | ${s.iperf3Mbit} | ${s.ratio} | ${s.expectedGoodputMbit ?? '–'} | ${s.cpuSecondsPerGb.agent} | ${s.cpuSecondsPerGb.responder} | ${s.cpuSecondsPerGb.iperf3Client} | ${s.cpuSecondsPerGb.iperf3Server} | ${s.cpuSecondsPerGb.nodeFloorReceiver ?? '–'} |`,
  ),
].join('\n');
const receivingTable = [
  '| rate | direction | receiver | CPU s/GB | iperf3 receiver | ratio (goal <= 2) | bare Node socket |',
  '|---|---|---|---|---|---|---|',
  ...receiving.map((r) => `| ${r.rate} | ${r.direction} | ${r.receiver} | ${r.linkmon} | ${r.iperf3} | ${r.ratio} | ${r.nodeFloor ?? '–'} |`),
].join('\n');
const note = machineNote();
console.log(`\n${table}\n\n${receivingTable}\n\ngoal (>= 0.97 x iperf3 at each shaped rate): ${shapedOk ? 'met' : 'NOT met'}\n${note}`);
writeResults(
  'throughput-vs-iperf3',
  { seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, repeats: REPEATS, machine: note, goalMet: shapedOk, summary, receiving, samples: rows },
  [
    '# linkmon throughput vs iperf3 (lab link)',
    '',
    `\`npx tsx bench/throughput-vs-iperf3.ts --seconds ${SECONDS} --repeats ${REPEATS}\`: ${SECONDS} s per run (first ${WARMUP_SECONDS} s excluded by both tools), median of ${REPEATS}, one stream.`,
    'Rates are receiver-side payload (TCP goodput); tbf shapes whole frames, so a shaped rate R carries at most R x 1448/1514 of payload ("expected goodput").',
    'CPU s/GB = CPU seconds of the process over payload gigabytes moved in the whole run (warm-up included). The agent runs the tests in one long-lived `linkmon throughput --stdin` process (tsx), the first at 100 Mbit/s, so its JIT warm-up counts there.',
    '',
    table,
    '',
    'Receiving side (issue 16: CPU per GB <= 2 x iperf3\'s receiver; the bare Node socket reads the same /download with no HTTP parser):',
    '',
    receivingTable,
    '',
    `Goal (>= 0.97 x iperf3 at each shaped rate): ${shapedOk ? 'met' : 'not met'}. Machine: ${note}.`,
    '',
  ].join('\n'),
);
