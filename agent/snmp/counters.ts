import { COUNTER_COLUMNS, type CounterColumn } from './oids.js';

/** One interface's counters at one poll. */
export interface CounterReading {
  ifIndex: number;
  /** ifCounterDiscontinuityTime (sysUpTime hundredths); 0 where the device does not implement it. */
  discontinuityTime: number;
  counters: Record<CounterColumn, bigint>;
}

export type DiscontinuityCause = 'reboot' | 'renumbered' | 'discontinuity_time' | 'counter_decreased';

/** What a new reading means for the exported counters. The caller always keeps `current` as the next baseline. */
export type CounterStep =
  | { kind: 'baseline' }
  | { kind: 'increment'; deltas: Record<CounterColumn, bigint> }
  | { kind: 'discontinuity'; cause: DiscontinuityCause };

/**
 * Compares a reading with the previous one. Traffic is only ever counted as the difference of two
 * readings known to be continuous: a device reboot, an interface that moved to another ifIndex, a
 * changed ifCounterDiscontinuityTime or any counter going backwards re-baselines instead (RFC 2863
 * §3.1.6: a discontinuity makes the difference meaningless, and a 64-bit counter does not wrap).
 */
export function counterStep(previous: CounterReading | undefined, current: CounterReading, deviceRebooted: boolean): CounterStep {
  if (!previous) return { kind: 'baseline' };
  if (deviceRebooted) return { kind: 'discontinuity', cause: 'reboot' };
  if (previous.ifIndex !== current.ifIndex) return { kind: 'discontinuity', cause: 'renumbered' };
  if (previous.discontinuityTime !== current.discontinuityTime) return { kind: 'discontinuity', cause: 'discontinuity_time' };
  const deltas = {} as Record<CounterColumn, bigint>;
  for (const column of COUNTER_COLUMNS) {
    const delta = current.counters[column] - previous.counters[column];
    if (delta < 0n) return { kind: 'discontinuity', cause: 'counter_decreased' };
    deltas[column] = delta;
  }
  return { kind: 'increment', deltas };
}

/** sysUpTime is hundredths of a second and only grows while the agent runs; smaller means it restarted. */
export function deviceRebooted(previousUpTime: number | undefined, currentUpTime: number): boolean {
  return previousUpTime !== undefined && currentUpTime < previousUpTime;
}
