/**
 * Splits STAMP probe loss into site_to_dc and dc_to_site (docs/stamp.md, "Loss by direction").
 * Pure bookkeeping, no sockets or clocks: the session reports each probe as sent, answered (with
 * the reflector's sequence number) or timed out, and gets back what to add to the counters.
 *
 * Probes are numbered k = 0, 1, 2, ... in the order sent and settle in that order. A stateful
 * reflector numbers its reflections 0, 1, 2, ... in the order it received our packets, so between
 * two answered probes a < j the difference of their reflector numbers says how many of the
 * unanswered probes in between reached it (lost on the way back) and so how many never did (lost
 * on the way out). A stateless reflector copies our number, which says nothing about the gap: its
 * losses are counted as unattributed. A block is settled only when every probe in it has been
 * answered or has timed out, so a late reply is never counted twice; an outage stays unsettled
 * until the first reply after it.
 */

export type ReflectorMode = 'unknown' | 'stateful' | 'stateless';

export interface DirectionTally {
  sentSiteToDc: number;
  lostSiteToDc: number;
  /** Reflections the reflector sent (our packets it received), as far as its numbers tell. */
  sentDcToSite: number;
  lostDcToSite: number;
  /** Lost, but the reflector's numbers cannot say in which direction. */
  lostUnattributed: number;
}

type ProbeStatus = { state: 'in_flight' } | { state: 'lost' } | { state: 'answered'; reflectorSeq: number };

export function emptyTally(): DirectionTally {
  return { sentSiteToDc: 0, lostSiteToDc: 0, sentDcToSite: 0, lostDcToSite: 0, lostUnattributed: 0 };
}

/** b − a for 32-bit sequence numbers, as a signed distance (RFC 1982 serial arithmetic). */
export function seqDistance(a: number, b: number): number {
  const diff = (b - a) >>> 0;
  return diff >= 0x80000000 ? diff - 0x100000000 : diff;
}

export class DirectionalLoss {
  private readonly probes = new Map<number, ProbeStatus>();
  /** Lowest probe not yet settled. */
  private next = 0;
  /** The last settled answered probe's reflector number. */
  private anchorReflectorSeq: number | undefined;
  /** Timed-out probes after the anchor, all below `next`, waiting for the next answered one. */
  private pendingLost = 0;

  constructor(private readonly reflectorMode: () => ReflectorMode) {}

  sent(k: number): void {
    this.probes.set(k, { state: 'in_flight' });
  }

  /** The first reply for `k` arrived in time. Returns false if `k` is not in flight (late or unknown). */
  answered(k: number, reflectorSeq: number): boolean {
    if (this.probes.get(k)?.state !== 'in_flight') return false;
    this.probes.set(k, { state: 'answered', reflectorSeq });
    return true;
  }

  timedOut(k: number): void {
    if (this.probes.get(k)?.state === 'in_flight') this.probes.set(k, { state: 'lost' });
  }

  /** Probes waiting to be settled (in flight, or lost and waiting for a later reply). */
  get unsettled(): number {
    return this.probes.size + this.pendingLost;
  }

  /** Settles every block that can be settled now and returns the counts to add. */
  settle(): DirectionTally {
    const tally = emptyTally();
    for (;;) {
      const status = this.probes.get(this.next);
      if (!status || status.state === 'in_flight') return tally;
      this.probes.delete(this.next);
      if (status.state === 'lost') {
        this.pendingLost += 1;
      } else {
        const gap = this.pendingLost;
        const reachedReflector = this.receivedInGap(status.reflectorSeq);
        tally.sentSiteToDc += gap + 1;
        if (reachedReflector === undefined) {
          tally.sentDcToSite += 1;
          tally.lostUnattributed += gap;
        } else {
          tally.lostSiteToDc += gap - reachedReflector;
          tally.sentDcToSite += reachedReflector + 1;
          tally.lostDcToSite += reachedReflector;
        }
        this.anchorReflectorSeq = status.reflectorSeq;
        this.pendingLost = 0;
      }
      this.next += 1;
    }
  }

  /**
   * How many of the `pendingLost` probes just before this answered one the reflector received, or
   * undefined when its numbers cannot tell: a stateless (or not yet identified) reflector, or a
   * stateful one whose number did not advance (its state was reset: restart, eviction).
   */
  private receivedInGap(reflectorSeq: number): number | undefined {
    const gap = this.pendingLost;
    if (gap === 0) return 0;
    if (this.reflectorMode() !== 'stateful') return undefined;
    let received: number;
    if (this.anchorReflectorSeq === undefined) {
      // The session's first answered probe: every probe before it is in the gap, and the
      // reflector numbers from 0, so its number is how many of them it received.
      received = reflectorSeq;
    } else {
      const advanced = seqDistance(this.anchorReflectorSeq, reflectorSeq);
      if (advanced <= 0) return undefined;
      received = advanced - 1;
    }
    // Duplicates on the way out can push the count past the gap.
    return Math.min(gap, Math.max(0, received));
  }
}
