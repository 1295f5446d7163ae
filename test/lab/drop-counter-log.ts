// Reads the wan router's drop counters (lab.dropCounts()) over and over in the background, so that a
// test can bound what a drop rule had dropped at any instant of the run, e.g. the instant an agent's
// loss counters refer to. Each reading is stamped with the wall-clock span of the `nft` call that
// made it; counters only grow, so a reading that ended before t is a lower bound of the count at t
// and one that began after t an upper bound. The ruleset must not change while it runs: every change
// restarts the counters at 0.
import { dropRuleKey, type DropRule } from './impairments.js';
import type { Lab } from './lab.js';

export interface DropReading {
  /** Date.now() before and after the `nft` call: the counters were read somewhere in between. */
  from: number;
  to: number;
  /** Packets dropped per rule, keyed by dropRuleKey(). */
  packets: Map<string, number>;
}

export interface CountBounds {
  low: number;
  high: number;
}

/** An instant known only to lie in [earliest, latest] (Date.now() ms). */
export interface Instant {
  earliest: number;
  latest: number;
}

/** How a prober's loss counters lag the router's drops (for lossCountersInstant). */
export interface LossSettling {
  /** The prober counts a packet as lost this long after sending it. */
  timeoutMs: number;
  /** How much later than that a loss may still be missing from a read of the counters. */
  settleLateMs: number;
  /** How long after the prober sent a packet the router may drop it (or its reply). */
  routerLagMs: number;
}

/**
 * The instant, on the router's clock of drops, that loss counters read somewhere in [from, to] (ms)
 * cover: a packet counts as lost one timeout after it was sent, so the counters include what the
 * router dropped up to one timeout before the read, give or take the settling margins.
 */
export function lossCountersInstant(from: number, to: number, settling: LossSettling): Instant {
  return { earliest: from - settling.timeoutMs - settling.settleLateMs, latest: to - settling.timeoutMs + settling.routerLagMs };
}

export class DropCounterLog {
  private readonly readings: DropReading[] = [];
  private stopped = false;
  private failure: unknown;
  private readonly loop: Promise<void>;

  /** Starts reading every `intervalMs`; stops by itself after `maxDurationMs` (bounded loop). */
  static start(lab: Lab, intervalMs = 100, maxDurationMs = 120_000): DropCounterLog {
    return new DropCounterLog(lab, intervalMs, maxDurationMs);
  }

  private constructor(
    private readonly lab: Lab,
    intervalMs: number,
    maxDurationMs: number,
  ) {
    this.loop = (async () => {
      const deadline = Date.now() + maxDurationMs;
      while (!this.stopped && this.failure === undefined && Date.now() < deadline) {
        await this.read();
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    })();
  }

  /** Stops the loop and takes one last reading, so that instants up to now have an upper bound. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.read();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Bounds of what the rule of `scope` had dropped at `instant`. A scope without a rule dropped nothing. */
  at(scope: Omit<DropRule, 'ratio'>, instant: Instant): CountBounds {
    const key = dropRuleKey(scope);
    const before = this.readings.filter((r) => r.to <= instant.earliest);
    const after = this.readings.filter((r) => r.from >= instant.latest);
    if (before.length === 0 || after.length === 0) {
      const span = this.readings.length > 0 ? `${this.readings[0]!.from}..${this.readings.at(-1)!.to}` : 'none';
      throw new Error(`no router readings on both sides of ${instant.earliest}..${instant.latest} (readings: ${span})`);
    }
    const count = (r: DropReading) => r.packets.get(key) ?? 0;
    return { low: Math.max(...before.map(count)), high: Math.min(...after.map(count)) };
  }

  /** Bounds of what the rule of `scope` dropped between two instants. */
  between(scope: Omit<DropRule, 'ratio'>, start: Instant, end: Instant): CountBounds {
    const [atStart, atEnd] = [this.at(scope, start), this.at(scope, end)];
    return { low: Math.max(0, atEnd.low - atStart.high), high: atEnd.high - atStart.low };
  }

  private async read(): Promise<void> {
    try {
      const from = Date.now();
      const counts = await this.lab.dropCounts();
      this.readings.push({ from, to: Date.now(), packets: new Map(counts.map((c) => [dropRuleKey(c), c.packets])) });
    } catch (err) {
      this.failure ??= err;
    }
  }
}
