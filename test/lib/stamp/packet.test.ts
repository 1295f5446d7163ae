// STAMP test packets against the RFC figures, octet by octet: RFC 8762 §4.2.1 (Session-Sender,
// unauthenticated), §4.3.1 (Session-Reflector, unauthenticated), RFC 8972 §4.1 (Extra Padding TLV),
// and the TWAMP-Light packets of RFC 5357 §4.1.2 and §4.2.1 (Appendix I) that must interwork.
// Each expected packet is written out as the figure's 32-bit rows, independently of the encoder.
import { describe, expect, it } from 'vitest';
import {
  decodeReflectorPacket,
  decodeSenderPacket,
  encodeSenderPacket,
  isValidSenderSize,
  reflectInPlace,
  stampTransmit,
  STAMP_BASE_BYTES,
} from '../../../lib/stamp/packet.js';
import type { ErrorEstimate } from '../../../lib/stamp/timestamp.js';

/** The rows of an RFC packet figure, one 32-bit word (or shorter tail) per string, to a Buffer. */
const rows = (...words: string[]) => Buffer.from(words.join('').replace(/\s+/g, ''), 'hex');

// 2026-09-21T14:13:20.5Z = Unix 1,790,000,000.5 s = NTP 0xEE5BBA00.80000000.
const T1 = 1_790_000_000_500_000_000n;
const T1_NTP = 'ee5bba00 80000000';
const SENDER_ESTIMATE: ErrorEstimate = { synchronized: true, format: 'ntp', scale: 0x12, multiplier: 0x34 }; // 0x9234
const REFLECTOR_ESTIMATE: ErrorEstimate = { synchronized: false, format: 'ntp', scale: 22, multiplier: 1 }; // 0x1601

describe('STAMP Session-Sender packet, unauthenticated (RFC 8762 §4.2.1)', () => {
  it('is Sequence Number (4), Timestamp (8), Error Estimate (2), MBZ (30): 44 octets', () => {
    const packet = encodeSenderPacket({ seq: 0x01020304, timestampNs: T1, errorEstimate: SENDER_ESTIMATE });
    expect(packet).toEqual(
      rows(
        '01020304', // Sequence Number
        T1_NTP, // Timestamp
        '9234 0000', // Error Estimate | MBZ ...
        '00000000 00000000 00000000 00000000 00000000 00000000 00000000', // ... MBZ (30 octets in all)
      ),
    );
    expect(packet).toHaveLength(STAMP_BASE_BYTES);
  });

  it('is larger only with an RFC 8972 Extra Padding TLV: Flags 0, Type 1, Length, zero padding', () => {
    const packet = encodeSenderPacket({ seq: 7, timestampNs: T1, errorEstimate: SENDER_ESTIMATE }, 52);
    expect(packet.subarray(STAMP_BASE_BYTES)).toEqual(rows('00 01 0004', '00000000'));
    expect(() => encodeSenderPacket({ seq: 7, timestampNs: T1, errorEstimate: SENDER_ESTIMATE }, 46)).toThrow(RangeError);
    expect([43, 44, 45, 47, 48, 1472, 1473].map(isValidSenderSize)).toEqual([false, true, false, false, true, true, false]);
  });

  it('is what a TWAMP-Light reflector reads as Sequence Number, Timestamp, Error Estimate and 30 octets of Packet Padding (RFC 5357 §4.1.2)', () => {
    const packet = encodeSenderPacket({ seq: 9, timestampNs: T1, errorEstimate: SENDER_ESTIMATE });
    expect(packet.readUInt32BE(0)).toBe(9);
    expect(packet.subarray(4, 12)).toEqual(rows(T1_NTP));
    expect(packet.readUInt16BE(12)).toBe(0x9234);
    expect(packet.subarray(14).every((octet) => octet === 0)).toBe(true);
  });

  it('decodes for the reflector; shorter than 44 octets, longer than allowed, or Multiplier 0 (RFC 4656 §4.1.2) is refused', () => {
    const packet = encodeSenderPacket({ seq: 9, timestampNs: T1, errorEstimate: SENDER_ESTIMATE }, 100);
    expect(decodeSenderPacket(packet)).toEqual({ seq: 9, timestampNs: T1, errorEstimate: SENDER_ESTIMATE });
    // A TWAMP-Light sender with 30 octets of its own padding is answered like a STAMP sender.
    const twampLight = Buffer.concat([rows('00000009', T1_NTP, '9234'), Buffer.alloc(30, 0xa5)]);
    expect(decodeSenderPacket(twampLight)?.seq).toBe(9);
    expect(decodeSenderPacket(twampLight.subarray(0, 41))).toBeUndefined();
    expect(decodeSenderPacket(packet, 99)).toBeUndefined();
    expect(decodeSenderPacket(rows('00000009', T1_NTP, '9200', '00'.repeat(30)))).toBeUndefined();
  });
});

describe('STAMP Session-Reflector packet, unauthenticated (RFC 8762 §4.3.1)', () => {
  const request = () => encodeSenderPacket({ seq: 0x0a0b0c0d, timestampNs: T1, errorEstimate: SENDER_ESTIMATE });
  // T2 = T1 + 0.25 s, T3 = T1 + 0.75 s.
  const T2 = T1 + 250_000_000n;
  const T3 = T1 + 750_000_000n;

  it('is built in place, as long as the request, field by field as in the figure', () => {
    const packet = request();
    reflectInPlace(packet, { seq: 0x11223344, receiveTimestampNs: T2, errorEstimate: REFLECTOR_ESTIMATE, senderTtl: 255 });
    stampTransmit(packet, T3);
    expect(packet).toEqual(
      rows(
        '11223344', // Sequence Number
        'ee5bba01 40000000', // Timestamp: T3 = ...001.25 s
        '1601 0000', // Error Estimate | MBZ
        'ee5bba00 c0000000', // Receive Timestamp: T2 = ...000.75 s
        '0a0b0c0d', // Session-Sender Sequence Number
        T1_NTP, // Session-Sender Timestamp
        '9234 0000', // Session-Sender Error Estimate | MBZ
        'ff 000000', // Ses-Sender TTL | MBZ
      ),
    );
  });

  it('copies what follows the base packet (padding, TLVs) unchanged, so a reflection never amplifies', () => {
    const packet = encodeSenderPacket({ seq: 1, timestampNs: T1, errorEstimate: SENDER_ESTIMATE }, 64);
    packet.fill(0x5a, 48);
    const tail = Buffer.from(packet.subarray(STAMP_BASE_BYTES));
    reflectInPlace(packet, { seq: 0, receiveTimestampNs: T2, errorEstimate: REFLECTOR_ESTIMATE, senderTtl: 255 });
    expect(packet).toHaveLength(64);
    expect(packet.subarray(STAMP_BASE_BYTES)).toEqual(tail);
  });

  it('zeroes every MBZ octet, whatever the sender left in its own MBZ', () => {
    const packet = request();
    packet.fill(0xff, 14, STAMP_BASE_BYTES);
    reflectInPlace(packet, { seq: 0, receiveTimestampNs: T2, errorEstimate: REFLECTOR_ESTIMATE, senderTtl: 64 });
    expect([...packet.subarray(14, 16), ...packet.subarray(38, 40), ...packet.subarray(41, 44)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(packet.readUInt8(40)).toBe(64);
  });

  it('decodes a reflection: the reflector fields, and the sender fields it copied', () => {
    const packet = request();
    reflectInPlace(packet, { seq: 5, receiveTimestampNs: T2, errorEstimate: REFLECTOR_ESTIMATE, senderTtl: 250 });
    stampTransmit(packet, T3);
    expect(decodeReflectorPacket(packet)).toEqual({
      seq: 5,
      timestampNs: T3,
      errorEstimate: REFLECTOR_ESTIMATE,
      receiveTimestampNs: T2,
      sender: { seq: 0x0a0b0c0d, timestampNs: T1, errorEstimate: SENDER_ESTIMATE },
      senderTtl: 250,
    });
  });

  it('decodes a 41-octet TWAMP-Light reflection (RFC 5357 §4.2.1: no padding, ends at Sender TTL), a shorter one, and a PTP-format one', () => {
    const twampLight = rows('00000003', 'ee5bba01 40000000', '4001 0000', 'ee5bba00 c0000000', '0a0b0c0d', T1_NTP, '9234 0000', 'ff');
    expect(twampLight).toHaveLength(41);
    // Z = 1 in the reflector's Error Estimate: its two timestamps are PTP (s since 1970, ns).
    twampLight.write('6ab13b802faf0800', 4, 'hex');
    twampLight.write('6ab13b800ee6b280', 16, 'hex');
    const decoded = decodeReflectorPacket(twampLight);
    expect(decoded?.seq).toBe(3);
    expect(decoded?.errorEstimate.format).toBe('ptp');
    expect(decoded?.timestampNs).toBe(1_790_000_000_800_000_000n);
    expect(decoded?.receiveTimestampNs).toBe(1_790_000_000_250_000_000n);
    expect(decoded?.sender.timestampNs).toBe(T1);
    // twampy 1.3.2 sends 38 octets: everything but the Sender TTL and the MBZ around it.
    expect(decodeReflectorPacket(twampLight.subarray(0, 38))).toMatchObject({ seq: 3, senderTtl: undefined });
    expect(decodeReflectorPacket(twampLight.subarray(0, 37))).toBeUndefined();
  });
});
