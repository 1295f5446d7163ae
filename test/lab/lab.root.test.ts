// Checks the network lab itself with system tools. Needs root and the Debian packages
// iproute2, nftables, python3, iputils-ping and iperf3 (scripts/test-host-setup.sh).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binomialInterval } from '../support/stats/binomial.js';
import { median } from '../support/stats/sample-quantile.js';
import { DIRECTION_LABEL, THROUGHPUT_DIRECTIONS } from '../../agent/throughput/directions.js';
import { GOODPUT_PER_WIRE_BYTE, iperf3Goodput } from './iperf3.js';
import { cleanupStaleLabs, createLab, type Lab } from './lab.js';
import { listNamespaces } from './naming.js';
import { run } from './run.js';

/**
 * Issue #2 asks for loss inside the 95% binomial interval of the injected ratio, but such a check
 * fails 5% of the time on a correct system by construction. What the lab must get right is checked
 * exactly instead (ping's loss equals what the router's drop rule counted); the count must then be
 * consistent with the injected ratio at 99.9%, and the 95% interval is reported in the message.
 */
const CONFIDENCE = 0.999;
const REPORTED_CONFIDENCE = 0.95;
/** tbf counts whole frames; iperf3 reports TCP payload, in bytes per second. */
const GOODPUT_AT_20_MBIT = (20e6 / 8) * GOODPUT_PER_WIRE_BYTE;
/**
 * A shaper never delivers more than its rate, but a starved sender delivers less: even at
 * real-time priority, one CI run read 18.12 Mbit/s (0.947) on Node 24's pass while Node 20's pass
 * of the same run read within 3%. So every reading must stay under the ceiling, and the best of
 * up to three must reach it: a shaper set wrong reads low every time.
 */
const SHAPER_ATTEMPTS = 3;

describe('network lab', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ sites: 2 });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('routes every site to the dc through the wan router', async () => {
    for (const site of [1, 2]) {
      const { stdout } = await lab.exec(lab.site(site), ['ping', '-c', '3', '-i', '0.1', '-W', '1', lab.dcAddress()]);
      expect(pingCounts(stdout)).toEqual({ sent: 3, received: 3 });
    }
  });

  it('limits site 1 to 20 Mbit/s each way, on the ifb upstream and the egress downstream (iperf3 goodput within 3%)', async () => {
    await lab.setRate('site_to_dc', { mbit: 20 }, 1);
    await lab.setRate('dc_to_site', { mbit: 20 }, 1);
    try {
      for (const direction of THROUGHPUT_DIRECTIONS) {
        const readings: number[] = [];
        while (readings.length < SHAPER_ATTEMPTS && !readings.some((ratio) => ratio > 0.97)) {
          readings.push((await iperf3Goodput(lab, direction, 4, 1, true)) / GOODPUT_AT_20_MBIT);
        }
        const what = `${DIRECTION_LABEL[direction]}: ${readings.map((ratio) => `${(ratio * 20).toFixed(2)}`).join(', ')} Mbit/s of goodput at 20`;
        for (const ratio of readings) expect(ratio, what).toBeLessThan(1.03);
        expect(Math.max(...readings), what).toBeGreaterThan(0.97);
      }
    } finally {
      await lab.clearImpairments();
    }
  }, 150_000);

  it('drops 10% of site 1 upstream: ping loss equals the router\'s drop count and fits the injected ratio', async () => {
    await lab.setDrop('site_to_dc', 0.1, { site: 1 });
    try {
      const { stdout } = await lab.exec(lab.site(1), ['ping', '-q', '-c', '1000', '-i', '0.003', '-W', '1', lab.dcAddress()], { allowFailure: true });
      const { sent, received } = pingCounts(stdout);
      const [rule] = await lab.dropCounts();
      const { low, high } = binomialInterval(sent, 0.1, CONFIDENCE);
      const reported = binomialInterval(sent, 0.1, REPORTED_CONFIDENCE);
      const what = `${sent - received} of ${sent} lost, router dropped ${rule?.packets}; ${CONFIDENCE * 100}% interval [${low}, ${high}], 95% [${reported.low}, ${reported.high}]`;
      expect(sent).toBe(1000);
      // Nothing else crosses site 1's uplink during the test, and ping waits for every reply.
      expect(sent - received, what).toBe(rule?.packets);
      expect(sent - received, what).toBeGreaterThanOrEqual(low);
      expect(sent - received, what).toBeLessThanOrEqual(high);
    } finally {
      await lab.clearImpairments();
    }
  });

  it('drops everything at ratio 1 (an unconditional rule), only in its scope', async () => {
    await lab.setDrop('dc_to_site', 1, { site: 2 });
    try {
      const ping = (site: number) => lab.exec(lab.site(site), ['ping', '-q', '-c', '5', '-i', '0.05', '-W', '1', lab.dcAddress()], { allowFailure: true });
      const [blocked, open] = await Promise.all([ping(2), ping(1)]);
      expect(pingCounts(blocked.stdout)).toEqual({ sent: 5, received: 0 });
      expect(pingCounts(open.stdout)).toEqual({ sent: 5, received: 5 });
      expect(await lab.dropCounts()).toEqual([{ direction: 'dc_to_site', site: 2, ratio: 1, packets: 5 }]);
    } finally {
      await lab.clearImpairments();
    }
  });

  it('adds 20 ms one way: median ping RTT rises by 20 ± 0.3 ms over the delay line at 0', async () => {
    const medianRtt = async () => {
      const { stdout } = await lab.exec(lab.site(1), ['ping', '-c', '200', '-i', '0.01', '-W', '1', lab.dcAddress()]);
      return median([...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])));
    };
    try {
      await lab.setDelay('site_to_dc', { ms: 0 });
      const base = await medianRtt();
      await lab.setDelay('site_to_dc', { ms: 20 });
      const delayed = await medianRtt();
      expect(delayed - base, `base ${base} ms, delayed ${delayed} ms`).toBeGreaterThan(19.7);
      expect(delayed - base).toBeLessThan(20.3);
    } finally {
      await lab.setDelay('site_to_dc', null);
    }
  });

  it('destroy() and cleanupStaleLabs() leave no namespaces behind', async () => {
    const other = await createLab();
    await other.setDelay('dc_to_site', { ms: 1 });
    await other.destroy();
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`${other.prefix}-`))).toEqual([]);

    const deadPid = await new Promise<number>((resolve) => {
      const child = spawn('true');
      child.once('exit', () => resolve(child.pid!));
    });
    const stale = `lml${deadPid}xzz0-wan`;
    await run(['ip', 'netns', 'add', stale]);
    expect(await cleanupStaleLabs()).toContain(stale);
    expect(await listNamespaces()).not.toContain(stale);
  });
});

function pingCounts(stdout: string): { sent: number; received: number } {
  const match = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
  if (!match) throw new Error(`no ping summary in: ${stdout}`);
  return { sent: Number(match[1]), received: Number(match[2]) };
}
