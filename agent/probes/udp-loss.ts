/**
 * Splits UDP probe loss into site_to_dc and dc_to_site (docs/udp-reflector.md, "Loss split").
 * Pure bookkeeping, no sockets or clocks: the session reports each packet as sent, answered (with
 * the reflector's counters) or timed out, and gets back what to add to the per-direction counters.
 *
 * Packets settle in sequence order. Between two answered packets a < j from the same reflector
 * state, the reflector sequence numbers say how many of the unanswered packets in between reached
 * the reflector (lost on the way back) and so how many never did (lost on the way out). A block is
 * settled only when every packet in it has been answered or has timed out, so a late reply can
 * never be counted twice; an outage stays unsettled until the first reply after it.
 */

export interface DirectionTally {
  sentSiteToDc: number;
  lostSiteToDc: number;
  /** Replies the reflector sent (requests it received). */
  sentDcToSite: number;
  lostDcToSite: number;
}

export interface ReflectorCounters {
  /** Requests the reflector state has answered, this one included. */
  reflectorSeq: number;
  /** First sender sequence the reflector state counted, already in this session's numbering. */
  stateStart: number;
}

type PacketStatus = { state: 'in_flight' } | { state: 'lost' } | ({ state: 'answered' } & ReflectorCounters);

export function emptyTally(): DirectionTally {
  return { sentSiteToDc: 0, lostSiteToDc: 0, sentDcToSite: 0, lostDcToSite: 0 };
}

export class DirectionalLoss {
  private readonly packets = new Map<number, PacketStatus>();
  /** Lowest sequence not yet settled. */
  private next: number;
  private anchor: ({ seq: number } & ReflectorCounters) | undefined;
  /** Timed-out packets after the anchor, all below `next`, waiting for the next answered one. */
  private pendingLost = 0;

  constructor(firstSeq = 0) {
    this.next = firstSeq;
  }

  sent(seq: number): void {
    this.packets.set(seq, { state: 'in_flight' });
  }

  /** The first reply for `seq` arrived in time. Returns false if `seq` is not in flight (late or unknown). */
  answered(seq: number, counters: ReflectorCounters): boolean {
    if (this.packets.get(seq)?.state !== 'in_flight') return false;
    this.packets.set(seq, { state: 'answered', ...counters });
    return true;
  }

  timedOut(seq: number): void {
    if (this.packets.get(seq)?.state === 'in_flight') this.packets.set(seq, { state: 'lost' });
  }

  /** Packets waiting to be settled (in flight, or lost and waiting for a later reply). */
  get unsettled(): number {
    return this.packets.size + this.pendingLost;
  }

  /** Settles every block that can be settled now and returns the counts to add. */
  settle(): DirectionTally {
    const tally = emptyTally();
    for (;;) {
      const status = this.packets.get(this.next);
      if (!status || status.state === 'in_flight') return tally;
      this.packets.delete(this.next);
      if (status.state === 'lost') {
        this.pendingLost += 1;
      } else {
        const reachedReflector = this.receivedInGap(status);
        tally.sentSiteToDc += this.pendingLost + 1;
        tally.lostSiteToDc += this.pendingLost - reachedReflector;
        tally.sentDcToSite += reachedReflector + 1;
        tally.lostDcToSite += reachedReflector;
        this.anchor = { seq: this.next, reflectorSeq: status.reflectorSeq, stateStart: status.stateStart };
        this.pendingLost = 0;
      }
      this.next += 1;
    }
  }

  /** How many of the `pendingLost` packets just before `seq` (= this.next) the reflector received. */
  private receivedInGap(reply: ReflectorCounters): number {
    const gapStart = this.next - this.pendingLost;
    let received: number;
    if (this.anchor && this.anchor.stateStart === reply.stateStart) {
      received = reply.reflectorSeq - this.anchor.reflectorSeq - 1;
    } else {
      // A new reflector state (first reply, reflector restart or eviction): it never saw packets
      // before its start, and counted reflectorSeq - 1 packets from its start up to this one.
      const counted = this.next - Math.max(reply.stateStart, gapStart);
      received = Math.min(reply.reflectorSeq - 1, Math.max(0, counted));
    }
    // Reordering and duplicates on the way out can push the difference outside the gap.
    return Math.min(this.pendingLost, Math.max(0, received));
  }
}
