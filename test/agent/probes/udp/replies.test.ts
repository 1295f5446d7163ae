import { describe, expect, it } from 'vitest';
import { probeIndex, ReplyAnalysis, wireSeq, type Reflection } from '../../../../agent/probes/udp/replies.js';

/** A reflection of probe k; times are microseconds on the reflector's clock. */
const reflection = (k: number, reflectorSeq: number, receiveUs: number, transmitUs = receiveUs + 10): Reflection => ({
  k,
  reflectorSeq,
  receiveNs: BigInt(receiveUs) * 1000n,
  transmitNs: BigInt(transmitUs) * 1000n,
});

/** Feeds the reflections in arrival order; sums what they revealed. */
function feed(analysis: ReplyAnalysis, reflections: Reflection[]) {
  const dup = { site_to_dc: 0, dc_to_site: 0 };
  const reordered = { site_to_dc: 0, dc_to_site: 0 };
  for (const verdict of reflections.map((r) => analysis.observe(r))) {
    if (verdict.duplicate) dup[verdict.duplicate] += 1;
    reordered.site_to_dc += verdict.reordered.site_to_dc;
    reordered.dc_to_site += verdict.reordered.dc_to_site;
  }
  return { dup, reordered };
}

describe('sequence numbers on the wire', () => {
  it('leaves out number 1, and maps numbers back to probes across the 2^32 wrap', () => {
    expect([0, 1, 2, 3].map(wireSeq)).toEqual([0, 2, 3, 4]);
    expect(probeIndex(0, 5)).toBe(0);
    expect(probeIndex(1, 5)).toBeUndefined();
    expect(probeIndex(4, 5)).toBe(3);
    const k = 2 ** 32 + 10; // sent as 11
    expect(wireSeq(k)).toBe(11);
    expect(probeIndex(11, k)).toBe(k);
    expect(probeIndex(0xffffffff, k)).toBe(2 ** 32 - 2);
  });
});

describe('ReplyAnalysis', () => {
  it('recognises a stateful reflector: its count falls behind our numbers from probe 1 on', () => {
    const analysis = new ReplyAnalysis();
    analysis.observe(reflection(0, 0, 100));
    expect(analysis.mode).toBe('unknown');
    analysis.observe(reflection(1, 1, 200)); // our number 2, its count 1
    expect(analysis.mode).toBe('stateful');
  });

  it('recognises a stateless reflector (it copies our numbers), and corrects itself if one is not ours', () => {
    const analysis = new ReplyAnalysis();
    analysis.observe(reflection(0, 0, 100));
    analysis.observe(reflection(1, 2, 200));
    expect(analysis.mode).toBe('stateless');
    analysis.observe(reflection(2, 2, 300));
    expect(analysis.mode).toBe('stateful');
  });

  it('tells a duplicate on the way back (the same reflection twice) from one on the way out (reflected twice)', () => {
    const analysis = new ReplyAnalysis();
    const counts = feed(analysis, [reflection(0, 0, 100), reflection(0, 0, 100), reflection(1, 1, 200), reflection(1, 2, 201), reflection(2, 3, 300)]);
    expect(counts.dup).toEqual({ site_to_dc: 1, dc_to_site: 1 });
    expect(counts.reordered).toEqual({ site_to_dc: 0, dc_to_site: 0 });
  });

  it('stateful: reordering on the way back by its numbers, on the way out by its numbers against ours', () => {
    const back = new ReplyAnalysis();
    // Reflected in order 0..3, the reflection of 2 arrives after that of 3.
    expect(feed(back, [reflection(0, 0, 100), reflection(1, 1, 200), reflection(3, 3, 400), reflection(2, 2, 300)]).reordered).toEqual({ site_to_dc: 0, dc_to_site: 1 });
    const out = new ReplyAnalysis();
    // Probe 2 reached the reflector after probe 3 (count 3 against 2), reflections arrive in reflector order.
    expect(feed(out, [reflection(0, 0, 100), reflection(1, 1, 200), reflection(3, 2, 300), reflection(2, 3, 400)]).reordered).toEqual({ site_to_dc: 1, dc_to_site: 0 });
    const both = new ReplyAnalysis();
    // The same swap on the way out, and the later reflection overtaken on the way back: probe 2 is still found once.
    expect(feed(both, [reflection(0, 0, 100), reflection(1, 1, 200), reflection(2, 3, 400), reflection(3, 2, 300)]).reordered).toEqual({ site_to_dc: 1, dc_to_site: 1 });
  });

  it('stateless: reordering judged from the reflector timestamps (receive on the way out, transmit on the way back)', () => {
    const analysis = new ReplyAnalysis();
    const counts = feed(analysis, [
      reflection(0, 0, 100),
      reflection(1, 2, 200),
      reflection(3, 4, 300), // probe 3 reached the reflector before probe 2
      reflection(2, 3, 310),
      reflection(5, 6, 500),
      reflection(4, 5, 450), // reflected before 5, arrived after it
    ]);
    expect(analysis.mode).toBe('stateless');
    expect(counts.reordered).toEqual({ site_to_dc: 1, dc_to_site: 1 });
  });
});
