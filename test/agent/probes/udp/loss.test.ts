import { describe, expect, it } from 'vitest';
import { DirectionalLoss, emptyTally, type DirectionTally, type ReflectorMode } from '../../../../agent/probes/udp/loss.js';

/** Drives DirectionalLoss like a session would and sums what it settles. */
function run(mode: ReflectorMode, steps: (loss: DirectionalLoss) => DirectionTally[]): DirectionTally {
  const loss = new DirectionalLoss(() => mode);
  const total = emptyTally();
  for (const tally of steps(loss)) for (const key of Object.keys(total) as (keyof DirectionTally)[]) total[key] += tally[key];
  return total;
}

describe('DirectionalLoss (per-direction loss split from a stateful reflector)', () => {
  it('counts nothing lost when every packet is answered', () => {
    const total = run('stateful', (loss) =>
      [0, 1, 2, 3].map((k) => {
        loss.sent(k);
        loss.answered(k, k);
        return loss.settle();
      }),
    );
    expect(total).toEqual({ sentSiteToDc: 4, lostSiteToDc: 0, sentDcToSite: 4, lostDcToSite: 0, lostUnattributed: 0 });
  });

  it('attributes a packet the reflector never counted to site_to_dc', () => {
    const total = run('stateful', (loss) => {
      for (const k of [0, 1, 2]) loss.sent(k);
      loss.answered(0, 0);
      loss.answered(2, 1); // the reflector received 0 and 2 only
      const before = loss.settle();
      loss.timedOut(1);
      return [before, loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 3, lostSiteToDc: 1, sentDcToSite: 2, lostDcToSite: 0, lostUnattributed: 0 });
  });

  it('attributes a packet the reflector counted but whose reflection never came to dc_to_site', () => {
    const total = run('stateful', (loss) => {
      for (const k of [0, 1, 2]) loss.sent(k);
      loss.answered(0, 0);
      loss.timedOut(1);
      loss.answered(2, 2);
      return [loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 3, lostSiteToDc: 0, sentDcToSite: 3, lostDcToSite: 1, lostUnattributed: 0 });
  });

  it('settles nothing past a packet still in flight, so a late reply is not miscounted', () => {
    const loss = new DirectionalLoss(() => 'stateful');
    for (const k of [0, 1, 2]) loss.sent(k);
    loss.answered(0, 0);
    loss.answered(2, 2);
    expect(loss.settle()).toEqual({ sentSiteToDc: 1, lostSiteToDc: 0, sentDcToSite: 1, lostDcToSite: 0, lostUnattributed: 0 });
    expect(loss.answered(1, 1)).toBe(true); // reordered reply, still in time
    expect(loss.settle()).toEqual({ sentSiteToDc: 2, lostSiteToDc: 0, sentDcToSite: 2, lostDcToSite: 0, lostUnattributed: 0 });
  });

  it('splits an outage when the first reply after it arrives', () => {
    const loss = new DirectionalLoss(() => 'stateful');
    loss.sent(0);
    loss.answered(0, 0);
    loss.settle();
    for (let k = 1; k <= 10; k++) {
      loss.sent(k);
      loss.timedOut(k);
    }
    expect(loss.settle()).toEqual(emptyTally());
    loss.sent(11);
    // The reflector saw 4 of the 10 (its number went from 0 to 5 at packet 11).
    loss.answered(11, 5);
    expect(loss.settle()).toEqual({ sentSiteToDc: 11, lostSiteToDc: 6, sentDcToSite: 5, lostDcToSite: 4, lostUnattributed: 0 });
    expect(loss.unsettled).toBe(0);
  });

  it("splits the loss before the session's first reply by the reflector's count from 0", () => {
    const total = run('stateful', (loss) => {
      for (const k of [0, 1, 2, 3]) loss.sent(k);
      for (const k of [0, 1, 2]) loss.timedOut(k);
      loss.answered(3, 1); // one of 0..2 reached the reflector
      return [loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 4, lostSiteToDc: 2, sentDcToSite: 2, lostDcToSite: 1, lostUnattributed: 0 });
  });

  it('leaves the loss unattributed when the reflector state was reset (its number went back)', () => {
    const total = run('stateful', (loss) => {
      for (const k of [0, 1, 2, 3, 4]) loss.sent(k);
      loss.answered(0, 0);
      loss.answered(1, 1);
      for (const k of [2, 3]) loss.timedOut(k);
      loss.answered(4, 0); // restarted reflector: a new count
      return [loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 5, lostSiteToDc: 0, sentDcToSite: 3, lostDcToSite: 0, lostUnattributed: 2 });
  });

  it('leaves the loss unattributed with a stateless reflector (it copies our numbers) or an unknown one', () => {
    for (const mode of ['stateless', 'unknown'] as const) {
      const total = run(mode, (loss) => {
        for (const k of [0, 1, 2]) loss.sent(k);
        loss.answered(0, 0);
        loss.timedOut(1);
        loss.answered(2, 3);
        return [loss.settle()];
      });
      expect(total, mode).toEqual({ sentSiteToDc: 3, lostSiteToDc: 0, sentDcToSite: 2, lostDcToSite: 0, lostUnattributed: 1 });
    }
  });

  it('clamps impossible counts from duplicates on the way out into the gap, and handles the 2^32 wrap', () => {
    const total = run('stateful', (loss) => {
      for (const k of [0, 1, 2]) loss.sent(k);
      loss.answered(0, 0xfffffffe);
      loss.timedOut(1);
      loss.answered(2, 3); // advanced by 5 across the wrap: more than the gap of 1
      return [loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 3, lostSiteToDc: 0, sentDcToSite: 3, lostDcToSite: 1, lostUnattributed: 0 });
  });
});
