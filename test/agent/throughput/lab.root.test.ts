// Throughput through the lab's shaped WAN: real responder in the dc namespace, the agent's
// throughput code in site 1. Needs root and the Debian packages iproute2, nftables, python3, iperf3
// (scripts/test-host-setup.sh).
//
// What the rate means: tbf on the wan router counts whole Ethernet frames (14-byte header + IP +
// TCP + payload), while the agent reports HTTP payload bytes per second (TCP goodput). With MTU
// 1500 and TCP timestamps every full frame is 1514 bytes on the wire and carries 1448 payload
// bytes, so a link shaped to R bit/s delivers at most R/8 × 1448/1514 bytes/s of payload.
//
// The reference is measured in the same run: iperf3's goodput on the same link, same direction,
// same measured window, just before the agent's (and once more just after, when the two disagree).
// The agent must agree with it within 5 %. Checked against the nominal goodput instead, the test failed once at 0.949 with both cores busy (issue
// #11): the box, not the code, had moved. Both tools (and the responder) run at real-time priority,
// as the lab runs its reference tools; the nominal goodput is only a sanity bound on the lab.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../lab/lab.js';
import { GOODPUT_PER_WIRE_BYTE, iperf3Goodput } from '../../lab/iperf3.js';
import { startThroughputLab, type ThroughputLab } from './lab-harness.js';

const SECONDS = 3;
const WARMUP_SECONDS = 1;
const TOLERANCE = 0.05;

function withinTolerance(measured: number, references: number[]): boolean {
  return measured / Math.min(...references) > 1 - TOLERANCE && measured / Math.max(...references) < 1 + TOLERANCE;
}

describe('throughput on the shaped lab link', () => {
  let lab: Lab;
  let setup: ThroughputLab;

  beforeAll(async () => {
    lab = await createLab({ sites: 1 });
    // 3 s per direction, the first second (slow start, tbf queue filling) excluded.
    setup = await startThroughputLab(lab, { duration: `${SECONDS}s`, warmup: `${WARMUP_SECONDS}s`, realtime: true });
  });
  afterAll(async () => {
    await setup?.stop();
    await lab?.destroy();
  });

  it.each([100, 20])('measures %d Mbit/s in each direction within 5 percent of iperf3 on the same link in the same run', async (mbit) => {
    await lab.setRate('dc_to_site', { mbit }, 1);
    await lab.setRate('site_to_dc', { mbit }, 1);
    try {
      const nominal = ((mbit * 1e6) / 8) * GOODPUT_PER_WIRE_BYTE;
      for (const direction of ['download', 'upload'] as const) {
        const references = [await iperf3Goodput(lab, direction, SECONDS, WARMUP_SECONDS, true)];
        const result = await setup.measure(direction);
        expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'ok', warmupExcluded: true });
        if (result.outcome !== 'ok') continue;
        // When the two disagree, iperf3 measures once more after the agent: the box may have moved
        // during either run (CI runs the suite twice at once). The agent must then lie within 5 %
        // of the span the reference itself moved over in the same minute.
        if (!withinTolerance(result.bytesPerSecond, references)) references.push(await iperf3Goodput(lab, direction, SECONDS, WARMUP_SECONDS, true));
        const mbits = (bytesPerSecond: number) => `${((bytesPerSecond * 8) / 1e6).toFixed(2)} Mbit/s`;
        const what = `${direction} at ${mbit} Mbit/s: linkmon ${mbits(result.bytesPerSecond)}, iperf3 ${references.map(mbits).join(' then ')}, nominal ${mbits(nominal)} of payload`;
        expect(withinTolerance(result.bytesPerSecond, references), what).toBe(true);
        // Sanity of the lab itself: the link is shaped (test/lab/lab.root.test.ts checks it to 3 %).
        for (const reference of references) {
          expect(reference / nominal, what).toBeGreaterThan(0.5);
          expect(reference / nominal, what).toBeLessThan(1 + TOLERANCE);
        }
      }
    } finally {
      await lab.clearImpairments();
    }
    // Four 3 s transfers and their start-up take ~13 s; on a box loaded to 14 they took over 60 s.
  }, 180_000);
});
