/**
 * STAMP test packets in unauthenticated mode (RFC 8762 §4.2.1 and §4.3.1), on-wire compatible with
 * TWAMP-Light (RFC 5357 §4.1.2, §4.2.1 and Appendix I). Shared by the responder's Session-Reflector
 * and the agent's Session-Sender (the `udp` probe kind). docs/stamp.md has the layouts and what
 * each end does with them. All fields are big-endian.
 */
import { decodeErrorEstimate, encodeErrorEstimate, readTimestamp, writeTimestamp, type ErrorEstimate } from './timestamp.js';

/** The base packet of either end: 44 octets, so a reflection is as large as its request. */
export const STAMP_BASE_BYTES = 44;
/**
 * The shortest reflection the sender accepts: every field up to the Session-Sender Error Estimate.
 * RFC 5357 §4.2.1 makes 41 the minimum (up to the Sender TTL), but twampy 1.3.2's TWAMP-Light
 * reflector sends 38 octets by default, and the sender uses nothing beyond them.
 */
export const REFLECTION_MIN_BYTES = 38;
/** One unfragmented datagram on a 1500-byte MTU path. */
export const STAMP_MAX_PACKET_BYTES = 1472;
/** The STAMP and TWAMP-Test receiver port (RFC 8762 §4.1, RFC 8545). */
export const STAMP_PORT = 862;
/** RFC 8972 §4.1: beyond the base packet a sender carries TLVs; padding goes in an Extra Padding TLV. */
const EXTRA_PADDING_TLV_TYPE = 1;
const TLV_HEADER_BYTES = 4;
/** The smallest sender packet larger than the base packet: the base plus an empty Extra Padding TLV. */
export const STAMP_MIN_PADDED_BYTES = STAMP_BASE_BYTES + TLV_HEADER_BYTES;
/** Sender TTL when the reflector cannot read the received TTL (RFC 5357 §4.2.1; Node's dgram cannot). */
export const UNKNOWN_TTL = 255;

const SENDER = { seq: 0, timestamp: 4, errorEstimate: 12 } as const;
const REFLECTOR = {
  seq: 0,
  timestamp: 4,
  errorEstimate: 12,
  mbz1: 14,
  receiveTimestamp: 16,
  senderSeq: 24,
  senderTimestamp: 28,
  senderErrorEstimate: 36,
  mbz2: 38,
  senderTtl: 40,
  mbz3: 41,
} as const;

export interface SenderFields {
  seq: number;
  /** Unix ns, in the format the error estimate names. */
  timestampNs: bigint;
  errorEstimate: ErrorEstimate;
}

export interface ReflectorFields {
  /** Stateful reflector: its own count of packets received in the session, from 0; stateless: the sender's seq. */
  seq: number;
  /** T3: when the reflector sent the packet. */
  timestampNs: bigint;
  errorEstimate: ErrorEstimate;
  /** T2: when the reflector received the sender's packet. */
  receiveTimestampNs: bigint;
  /** The sender's seq, timestamp (T1) and error estimate, copied. */
  sender: SenderFields;
  /** TTL (hop limit) of the sender's packet as it arrived; 255 when the reflector cannot read it. */
  senderTtl: number;
}

/** A decoded reflection; the Sender TTL is absent from a reflection shorter than RFC 5357's 41 octets. */
export type DecodedReflection = Omit<ReflectorFields, 'senderTtl'> & { senderTtl: number | undefined };

/** Whether a sender packet of `sizeBytes` can be built: the base packet, or the base plus an Extra Padding TLV. */
export function isValidSenderSize(sizeBytes: number): boolean {
  return Number.isInteger(sizeBytes) && (sizeBytes === STAMP_BASE_BYTES || (sizeBytes >= STAMP_MIN_PADDED_BYTES && sizeBytes <= STAMP_MAX_PACKET_BYTES));
}

/** A Session-Sender packet of `sizeBytes`: the 44-octet base (MBZ zero), then zero padding in an RFC 8972 Extra Padding TLV. */
export function encodeSenderPacket(fields: SenderFields, sizeBytes = STAMP_BASE_BYTES): Buffer {
  if (!isValidSenderSize(sizeBytes)) {
    throw new RangeError(`STAMP sender packet size must be ${STAMP_BASE_BYTES} or ${STAMP_MIN_PADDED_BYTES}-${STAMP_MAX_PACKET_BYTES} bytes, got ${sizeBytes}`);
  }
  const packet = Buffer.alloc(sizeBytes);
  packet.writeUInt32BE(fields.seq >>> 0, SENDER.seq);
  writeTimestamp(packet, SENDER.timestamp, fields.timestampNs, fields.errorEstimate.format);
  packet.writeUInt16BE(encodeErrorEstimate(fields.errorEstimate), SENDER.errorEstimate);
  if (sizeBytes > STAMP_BASE_BYTES) {
    // STAMP TLV Flags (U, M, I, R) are zero from a sender; Length counts the value only.
    packet.writeUInt8(EXTRA_PADDING_TLV_TYPE, STAMP_BASE_BYTES + 1);
    packet.writeUInt16BE(sizeBytes - STAMP_MIN_PADDED_BYTES, STAMP_BASE_BYTES + 2);
  }
  return packet;
}

/**
 * The fields of a sender packet a reflector will answer, or undefined: shorter than the base
 * packet (answering would amplify), longer than `maxBytes`, or an error estimate with multiplier 0
 * (RFC 4656 §4.1.2: corrupt). MBZ octets are ignored on receipt.
 */
export function decodeSenderPacket(packet: Buffer, maxBytes = STAMP_MAX_PACKET_BYTES): SenderFields | undefined {
  if (packet.length < STAMP_BASE_BYTES || packet.length > maxBytes) return undefined;
  const errorEstimate = decodeErrorEstimate(packet.readUInt16BE(SENDER.errorEstimate));
  if (errorEstimate.multiplier === 0) return undefined;
  return { seq: packet.readUInt32BE(SENDER.seq), timestampNs: readTimestamp(packet, SENDER.timestamp, errorEstimate.format), errorEstimate };
}

/**
 * Turns a received sender packet into its reflection in place, so the reply is exactly as long as
 * the request: the sender's first 14 octets move to the Session-Sender fields, octets beyond the
 * base packet (padding, TLVs) stay as they are, every MBZ is zeroed. The transmit timestamp is
 * written last, by stampTransmit, just before sending.
 */
export function reflectInPlace(packet: Buffer, fields: { seq: number; receiveTimestampNs: bigint; errorEstimate: ErrorEstimate; senderTtl: number }): void {
  packet.copyWithin(REFLECTOR.senderSeq, SENDER.seq, SENDER.errorEstimate + 2);
  packet.writeUInt32BE(fields.seq >>> 0, REFLECTOR.seq);
  packet.writeUInt16BE(encodeErrorEstimate(fields.errorEstimate), REFLECTOR.errorEstimate);
  packet.writeUInt16BE(0, REFLECTOR.mbz1);
  writeTimestamp(packet, REFLECTOR.receiveTimestamp, fields.receiveTimestampNs, fields.errorEstimate.format);
  packet.writeUInt16BE(0, REFLECTOR.mbz2);
  packet.writeUInt8(fields.senderTtl, REFLECTOR.senderTtl);
  packet.fill(0, REFLECTOR.mbz3, STAMP_BASE_BYTES);
}

/** Writes the reflector's transmit timestamp (T3) into a reflection built by reflectInPlace. */
export function stampTransmit(packet: Buffer, timestampNs: bigint): void {
  const format = decodeErrorEstimate(packet.readUInt16BE(REFLECTOR.errorEstimate)).format;
  writeTimestamp(packet, REFLECTOR.timestamp, timestampNs, format);
}

/**
 * The fields of a reflected packet, or undefined when it is too short to be one. Whether it
 * answers one of our packets is the sender's check.
 */
export function decodeReflectorPacket(packet: Buffer): DecodedReflection | undefined {
  if (packet.length < REFLECTION_MIN_BYTES) return undefined;
  const errorEstimate = decodeErrorEstimate(packet.readUInt16BE(REFLECTOR.errorEstimate));
  const senderErrorEstimate = decodeErrorEstimate(packet.readUInt16BE(REFLECTOR.senderErrorEstimate));
  return {
    seq: packet.readUInt32BE(REFLECTOR.seq),
    timestampNs: readTimestamp(packet, REFLECTOR.timestamp, errorEstimate.format),
    errorEstimate,
    receiveTimestampNs: readTimestamp(packet, REFLECTOR.receiveTimestamp, errorEstimate.format),
    sender: {
      seq: packet.readUInt32BE(REFLECTOR.senderSeq),
      timestampNs: readTimestamp(packet, REFLECTOR.senderTimestamp, senderErrorEstimate.format),
      errorEstimate: senderErrorEstimate,
    },
    senderTtl: packet.length > REFLECTOR.senderTtl ? packet.readUInt8(REFLECTOR.senderTtl) : undefined,
  };
}
