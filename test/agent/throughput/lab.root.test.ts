// Throughput through the lab's shaped WAN: real responder in the dc namespace, the agent's
// throughput code in site 1. Needs root and the Debian packages iproute2, nftables, python3
// (scripts/test-host-setup.sh).
//
// What the rate means: tbf on the wan router counts whole Ethernet frames (14-byte header + IP +
// TCP + payload), while the agent reports HTTP payload bytes per second (TCP goodput). With MTU
// 1500 and TCP timestamps every full frame is 1514 bytes on the wire and carries 1448 payload
// bytes, so a link shaped to R bit/s delivers at most R/8 × 1448/1514 bytes/s of payload. That
// goodput, not R/8, is what the measurement must match (within 5%).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../lab/lab.js';
import { GOODPUT_PER_WIRE_BYTE, startThroughputLab, type ThroughputLab } from './lab-harness.js';

describe('throughput on the shaped lab link', () => {
  let lab: Lab;
  let setup: ThroughputLab;

  beforeAll(async () => {
    lab = await createLab({ sites: 1 });
    // 3 s per direction, the first second (slow start, tbf queue filling) excluded.
    setup = await startThroughputLab(lab, { duration: '3s', warmup: '1s' });
  });
  afterAll(async () => {
    await setup?.stop();
    await lab?.destroy();
  });

  it.each([100, 20])('measures %d Mbit/s in each direction within 5 percent of the expected goodput', async (mbit) => {
    await lab.setRate('dc_to_site', { mbit }, 1);
    await lab.setRate('site_to_dc', { mbit }, 1);
    try {
      const expected = ((mbit * 1e6) / 8) * GOODPUT_PER_WIRE_BYTE;
      for (const direction of ['download', 'upload'] as const) {
        const result = await setup.measure(direction);
        expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'ok', warmupExcluded: true });
        if (result.outcome !== 'ok') continue;
        const ratio = result.bytesPerSecond / expected;
        expect(ratio, `${direction} at ${mbit} Mbit/s: ${((result.bytesPerSecond * 8) / 1e6).toFixed(2)} Mbit/s of payload`).toBeGreaterThan(0.95);
        expect(ratio).toBeLessThan(1.05);
      }
    } finally {
      await lab.clearImpairments();
    }
  });
});
