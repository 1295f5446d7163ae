// iperf3 (Debian), the lab's reference for TCP goodput across its shaped WAN. Needs root and the
// Debian package iperf3 (scripts/test-host-setup.sh).
import type { ThroughputDirection } from '../../agent/throughput/directions.js';
import { waitFor } from '../support/linkmon-process.js';
import type { Lab } from './lab.js';
import { REALTIME } from './realtime.js';

/** TCP payload per wire byte that tbf counts: 1448-byte segments (MSS with timestamps) in 1514-byte frames. */
export const GOODPUT_PER_WIRE_BYTE = 1448 / 1514;

const IPERF_PORT = 5201;

/**
 * TCP goodput from site 1 to the dc (download: -R) over `seconds`, the first `warmupSeconds`
 * omitted, in bytes per second. Starts its own one-shot server in the dc and stops it.
 */
export async function iperf3Goodput(lab: Lab, direction: ThroughputDirection, seconds: number, warmupSeconds: number, realtime: boolean): Promise<number> {
  const priority = realtime ? REALTIME : [];
  const server = lab.spawn(lab.dc, [...priority, 'iperf3', '-s', '-1', '-B', lab.dcAddress(), '-p', String(IPERF_PORT)], { stdio: 'ignore' });
  try {
    const argv = [...priority, 'iperf3', '-c', lab.dcAddress(), '-p', String(IPERF_PORT), '-t', String(seconds - warmupSeconds), '-O', String(warmupSeconds), '-J', ...(direction === 'download' ? ['-R'] : [])];
    // Until the server listens, the client fails ("unable to connect"); waitFor retries on a throw.
    return await waitFor('an iperf3 measurement', async () => {
      const { stdout } = await lab.exec(lab.site(1), argv, { allowFailure: true });
      const json = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } }; error?: string };
      if (json.error) throw new Error(`iperf3: ${json.error}`);
      return json.end.sum_received.bits_per_second / 8;
    }, 10_000, 100);
  } finally {
    if (server.exitCode === null) server.kill();
  }
}
