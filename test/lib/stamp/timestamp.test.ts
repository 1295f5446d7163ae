// STAMP timestamp formats (RFC 8762 §4.2.1: NTP 64-bit or PTPv2 truncated, RFC 8186 §2.3 Z bit),
// the Error Estimate field (RFC 4656 §4.1.2) and the monotonic wall clock, byte by byte.
import { describe, expect, it } from 'vitest';
import { decodeErrorEstimate, encodeErrorEstimate, errorEstimateSeconds, MonotonicWallClock, readTimestamp, writeTimestamp } from '../../../lib/stamp/timestamp.js';

const hex = (buffer: Buffer) => buffer.toString('hex');
const written = (unixNs: bigint, format: 'ntp' | 'ptp') => {
  const packet = Buffer.alloc(8);
  writeTimestamp(packet, 0, unixNs, format);
  return packet;
};

describe('STAMP timestamps', () => {
  it('NTP format: seconds since 1900 and a 2^-32 fraction (RFC 5905 §6)', () => {
    // The Unix epoch is NTP second 2,208,988,800 = 0x83AA7E80.
    expect(hex(written(0n, 'ntp'))).toBe('83aa7e8000000000');
    // Half a second is fraction 0x80000000; a quarter 0x40000000.
    expect(hex(written(500_000_000n, 'ntp'))).toBe('83aa7e8080000000');
    expect(hex(written(1_250_000_000n, 'ntp'))).toBe('83aa7e8140000000');
    // 1 ns is 4.29 units of 2^-32 s: rounded to 4.
    expect(hex(written(1n, 'ntp'))).toBe('83aa7e8000000004');
  });

  it('NTP format reads back to the nanosecond, in era 0 and, after February 2036, era 1', () => {
    const now = 1_790_000_000_123_456_789n; // 2026
    expect(readTimestamp(written(now, 'ntp'), 0, 'ntp')).toBe(now);
    // 2039: NTP seconds have wrapped (era 1), the top bit is clear.
    const later = 2_200_000_000_123_456_789n;
    const packet = written(later, 'ntp');
    expect(packet.readUInt32BE(0)).toBeLessThan(2 ** 31);
    expect(readTimestamp(packet, 0, 'ntp')).toBe(later);
  });

  it('PTPv2 truncated format: seconds since 1970 and nanoseconds (Z = 1)', () => {
    expect(hex(written(1_790_000_000_123_456_789n, 'ptp'))).toBe('6ab13b80075bcd15');
    expect(readTimestamp(Buffer.from('6ab13b80075bcd15', 'hex'), 0, 'ptp')).toBe(1_790_000_000_123_456_789n);
  });

  it('Error Estimate: S | Z | Scale (6 bits) | Multiplier (8 bits)', () => {
    expect(encodeErrorEstimate({ synchronized: true, format: 'ntp', scale: 0x3f, multiplier: 0xff }).toString(16)).toBe('bfff');
    expect(encodeErrorEstimate({ synchronized: false, format: 'ptp', scale: 1, multiplier: 2 }).toString(16)).toBe('4102');
    expect(decodeErrorEstimate(0x8116)).toEqual({ synchronized: true, format: 'ntp', scale: 1, multiplier: 0x16 });
    // Multiplier × 2^(Scale − 32) seconds.
    expect(errorEstimateSeconds({ synchronized: false, format: 'ntp', scale: 22, multiplier: 1 })).toBe(2 ** -10);
  });
});

describe('MonotonicWallClock', () => {
  it('gives wall time from the monotonic clock and re-anchors only when the system clock steps', () => {
    let mono = 5_000_000_000n;
    let wallMs = 1_790_000_000_000;
    const clock = new MonotonicWallClock(() => mono, () => wallMs);
    expect(clock.wallNs(mono + 1234n)).toBe(1_790_000_000_000_000_000n + 1234n);
    // Both clocks advance 2 s together: no change of anchor, differences stay monotonic.
    mono += 2_000_000_000n;
    wallMs += 2000;
    clock.refresh();
    expect(clock.wallNs(mono)).toBe(1_790_000_002_000_000_000n);
    // The system clock is stepped back 10 s: readings between refreshes keep the old anchor...
    wallMs -= 10_000;
    mono += 1_000_000n;
    expect(clock.wallNs(mono)).toBe(1_790_000_002_001_000_000n);
    // ...and the next refresh (a second after the last check) follows the system clock.
    mono += 1_000_000_000n;
    wallMs += 1001;
    clock.refresh();
    expect(clock.wallNs(mono)).toBe(BigInt(wallMs) * 1_000_000n);
  });
});
