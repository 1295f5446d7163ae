/**
 * STAMP timestamps (RFC 8762 §4.2.1, RFC 8186 §2.3) and the clock linkmon stamps them from.
 *
 * Every timestamp is handled as Unix nanoseconds (bigint). On the wire it is either the NTP 64-bit
 * format (seconds since 1900 and a binary fraction; Z = 0, the default) or the PTPv2 truncated
 * format (seconds since 1970 and nanoseconds; Z = 1). Only differences of timestamps taken on one
 * clock are used to measure (docs/stamp.md, "Clocks"), so neither end needs a synchronised clock.
 */

export type TimestampFormat = 'ntp' | 'ptp';

const NS_PER_SECOND = 1_000_000_000n;
/** Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch. */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800n;
const TWO_POW_32 = 1n << 32n;

/** Writes `unixNs` as 8 bytes at `offset`. */
export function writeTimestamp(packet: Buffer, offset: number, unixNs: bigint, format: TimestampFormat): void {
  const seconds = unixNs / NS_PER_SECOND;
  const nanos = unixNs % NS_PER_SECOND;
  if (format === 'ptp') {
    packet.writeUInt32BE(Number(BigInt.asUintN(32, seconds)), offset);
    packet.writeUInt32BE(Number(nanos), offset + 4);
    return;
  }
  packet.writeUInt32BE(Number(BigInt.asUintN(32, seconds + NTP_UNIX_OFFSET_SECONDS)), offset);
  // Rounded to the nearest 2^-32 s (233 ps); at most 2^32 - 5 for nanos < 10^9, so no carry.
  packet.writeUInt32BE(Number((nanos * TWO_POW_32 + NS_PER_SECOND / 2n) / NS_PER_SECOND), offset + 4);
}

/**
 * Reads 8 bytes at `offset` as Unix nanoseconds. NTP seconds are placed in era 0 when their top
 * bit is set and in era 1 otherwise (RFC 4330 §3), so values from 1968 to 2104 decode correctly.
 */
export function readTimestamp(packet: Buffer, offset: number, format: TimestampFormat): bigint {
  const seconds = BigInt(packet.readUInt32BE(offset));
  const low = BigInt(packet.readUInt32BE(offset + 4));
  if (format === 'ptp') return seconds * NS_PER_SECOND + low;
  const era = seconds >= 1n << 31n ? 0n : 1n;
  const unixSeconds = seconds + era * TWO_POW_32 - NTP_UNIX_OFFSET_SECONDS;
  return unixSeconds * NS_PER_SECOND + (low * NS_PER_SECOND + TWO_POW_32 / 2n) / TWO_POW_32;
}

/** The Error Estimate field (RFC 4656 §4.1.2, Z bit from RFC 8186): S|Z|Scale(6)|Multiplier(8). */
export interface ErrorEstimate {
  /** S: the clock is synchronised to UTC by an external source. */
  synchronized: boolean;
  /** Z: the format of the timestamps this estimate belongs to. */
  format: TimestampFormat;
  scale: number;
  /** Never 0: RFC 4656 makes a packet with multiplier 0 corrupt. */
  multiplier: number;
}

export function encodeErrorEstimate(estimate: ErrorEstimate): number {
  return (estimate.synchronized ? 0x8000 : 0) | (estimate.format === 'ptp' ? 0x4000 : 0) | ((estimate.scale & 0x3f) << 8) | (estimate.multiplier & 0xff);
}

export function decodeErrorEstimate(value: number): ErrorEstimate {
  return { synchronized: (value & 0x8000) !== 0, format: (value & 0x4000) !== 0 ? 'ptp' : 'ntp', scale: (value >> 8) & 0x3f, multiplier: value & 0xff };
}

/** The estimate in seconds: multiplier × 2^(scale − 32). */
export function errorEstimateSeconds(estimate: ErrorEstimate): number {
  return estimate.multiplier * 2 ** (estimate.scale - 32);
}

/**
 * What linkmon claims for its own timestamps: not synchronised (it cannot know whether the host's
 * clock is), NTP format, and an error of 2^-10 s ≈ 1 ms: timestamps are read where the event loop
 * handles the packet, which on a busy host is up to about a millisecond after it arrived.
 */
export const LINKMON_ERROR_ESTIMATE: ErrorEstimate = { synchronized: false, format: 'ntp', scale: 22, multiplier: 1 };

/** A step of the system clock larger than this moves the wall-clock anchor (see MonotonicWallClock). */
const STEP_THRESHOLD_NS = 50_000_000n;
/** How often the anchor is compared with the system clock. */
const CHECK_INTERVAL_NS = 1_000_000_000n;

/**
 * Wall-clock time derived from the monotonic clock (process.hrtime.bigint()): the wall time of an
 * anchor plus the monotonic time elapsed since. Differences between two of its readings are exact
 * monotonic differences, so a step of the system clock (NTP, an operator) between T2 and T3, or
 * between two probes, never shows up as a negative processing time or a jitter spike. When the
 * system clock has moved away from the anchor by more than 50 ms it is re-anchored (checked at
 * most once a second, only in refresh()), so absolute values follow the system clock.
 */
export class MonotonicWallClock {
  private anchorMonoNs = 0n;
  private anchorWallNs = 0n;
  private checkedAtNs = 0n;

  constructor(
    private readonly monoNs: () => bigint = () => process.hrtime.bigint(),
    private readonly wallMs: () => number = () => Date.now(),
  ) {
    this.anchor();
  }

  /** The wall time (Unix ns) of a monotonic reading. */
  wallNs(monoNs: bigint): bigint {
    return this.anchorWallNs + (monoNs - this.anchorMonoNs);
  }

  /**
   * Re-anchors when the system clock was stepped. Call between measurements, never between the
   * two readings whose difference is measured.
   */
  refresh(): void {
    const mono = this.monoNs();
    if (mono - this.checkedAtNs < CHECK_INTERVAL_NS) return;
    this.checkedAtNs = mono;
    const drift = BigInt(this.wallMs()) * 1_000_000n - this.wallNs(mono);
    if (drift > STEP_THRESHOLD_NS || drift < -STEP_THRESHOLD_NS) this.anchor();
  }

  private anchor(): void {
    this.anchorMonoNs = this.monoNs();
    this.anchorWallNs = BigInt(this.wallMs()) * 1_000_000n;
    this.checkedAtNs = this.anchorMonoNs;
  }
}
