import { describe, expect, it } from 'vitest';
import { DirectionalLoss, emptyTally, type DirectionTally } from '../../../agent/probes/udp-loss.js';

/** Drives DirectionalLoss like a session would and sums what it settles. */
function run(steps: (loss: DirectionalLoss) => DirectionTally[]): DirectionTally {
  const loss = new DirectionalLoss(0);
  const total = emptyTally();
  for (const tally of steps(loss)) for (const key of Object.keys(total) as (keyof DirectionTally)[]) total[key] += tally[key];
  return total;
}

describe('DirectionalLoss (per-direction loss split)', () => {
  it('counts nothing lost when every packet is answered', () => {
    const total = run((loss) =>
      [0, 1, 2, 3].map((seq) => {
        loss.sent(seq);
        loss.answered(seq, { reflectorSeq: seq + 1, stateStart: 0 });
        return loss.settle();
      }),
    );
    expect(total).toEqual({ sentSiteToDc: 4, lostSiteToDc: 0, sentDcToSite: 4, lostDcToSite: 0 });
  });

  it('attributes a packet the reflector never counted to site_to_dc', () => {
    const total = run((loss) => {
      for (const seq of [0, 1, 2]) loss.sent(seq);
      loss.answered(0, { reflectorSeq: 1, stateStart: 0 });
      loss.answered(2, { reflectorSeq: 2, stateStart: 0 }); // reflector saw 0 and 2 only
      const before = loss.settle();
      loss.timedOut(1);
      return [before, loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 3, lostSiteToDc: 1, sentDcToSite: 2, lostDcToSite: 0 });
  });

  it('attributes a packet the reflector counted but whose reply never came to dc_to_site', () => {
    const total = run((loss) => {
      for (const seq of [0, 1, 2]) loss.sent(seq);
      loss.answered(0, { reflectorSeq: 1, stateStart: 0 });
      loss.timedOut(1);
      loss.answered(2, { reflectorSeq: 3, stateStart: 0 });
      return [loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 3, lostSiteToDc: 0, sentDcToSite: 3, lostDcToSite: 1 });
  });

  it('settles nothing past a packet still in flight, so a late reply is not miscounted', () => {
    const loss = new DirectionalLoss(0);
    for (const seq of [0, 1, 2]) loss.sent(seq);
    loss.answered(0, { reflectorSeq: 1, stateStart: 0 });
    loss.answered(2, { reflectorSeq: 3, stateStart: 0 });
    expect(loss.settle()).toEqual({ sentSiteToDc: 1, lostSiteToDc: 0, sentDcToSite: 1, lostDcToSite: 0 });
    expect(loss.answered(1, { reflectorSeq: 2, stateStart: 0 })).toBe(true); // reordered reply, still in time
    expect(loss.settle()).toEqual({ sentSiteToDc: 2, lostSiteToDc: 0, sentDcToSite: 2, lostDcToSite: 0 });
  });

  it('splits an outage when the first reply after it arrives', () => {
    const loss = new DirectionalLoss(0);
    loss.sent(0);
    loss.answered(0, { reflectorSeq: 1, stateStart: 0 });
    loss.settle();
    for (let seq = 1; seq <= 10; seq++) {
      loss.sent(seq);
      loss.timedOut(seq);
    }
    expect(loss.settle()).toEqual(emptyTally());
    loss.sent(11);
    // The reflector saw 4 of the 10 (its sequence went from 1 to 6 at packet 11).
    loss.answered(11, { reflectorSeq: 6, stateStart: 0 });
    expect(loss.settle()).toEqual({ sentSiteToDc: 11, lostSiteToDc: 6, sentDcToSite: 5, lostDcToSite: 4 });
    expect(loss.unsettled).toBe(0);
  });

  it('counts packets before a new reflector state (restart or eviction) as site_to_dc', () => {
    const total = run((loss) => {
      for (const seq of [0, 1, 2, 3, 4]) loss.sent(seq);
      loss.answered(0, { reflectorSeq: 1, stateStart: 0 });
      for (const seq of [1, 2, 3]) loss.timedOut(seq);
      // Restarted reflector: its first packet from us was 3 (reply lost), then 4.
      loss.answered(4, { reflectorSeq: 2, stateStart: 3 });
      return [loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 5, lostSiteToDc: 2, sentDcToSite: 3, lostDcToSite: 1 });
  });

  it('clamps impossible counts from reordering into the gap', () => {
    const total = run((loss) => {
      for (const seq of [0, 1, 2]) loss.sent(seq);
      // The reflector received 0, 2, 1 in that order.
      loss.answered(0, { reflectorSeq: 1, stateStart: 0 });
      loss.answered(2, { reflectorSeq: 2, stateStart: 0 });
      loss.answered(1, { reflectorSeq: 3, stateStart: 0 });
      return [loss.settle()];
    });
    expect(total).toEqual({ sentSiteToDc: 3, lostSiteToDc: 0, sentDcToSite: 3, lostDcToSite: 0 });
  });
});
