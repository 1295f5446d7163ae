/**
 * The linkmon UDP probe packet, version 1 (docs/udp-reflector.md is the specification). Shared by
 * the responder's reflector and the agent's UDP prober. All fields big-endian.
 */

/** "LKU" + version 1. */
export const UDP_MAGIC = 0x4c4b5501;
export const UDP_HEADER_BYTES = 48;
/** One unfragmented datagram on a 1500-byte MTU path. */
export const UDP_MAX_PACKET_BYTES = 1472;

export const PACKET_TYPE = { request: 1, reply: 2 } as const;
export const REPLY_FLAG_OUT_OF_ORDER = 0x01;

const OFFSET = {
  magic: 0,
  type: 4,
  flags: 5,
  sessionId: 8,
  senderSeq: 12,
  senderTx: 16,
  reflectorRx: 24,
  reflectorTx: 32,
  reflectorSeq: 40,
  stateStart: 44,
} as const;

export interface ProbeRequest {
  sessionId: number;
  senderSeq: number;
  senderTxNs: bigint;
}

export interface ProbeReply extends ProbeRequest {
  outOfOrder: boolean;
  reflectorRxNs: bigint;
  reflectorTxNs: bigint;
  /** Requests this reflector state has answered, this one included (1-based). */
  reflectorSeq: number;
  /** Sender sequence of the first request the reflector state counted. */
  stateStart: number;
}

/** Builds a request of `sizeBytes` (header + zero padding). */
export function encodeRequest(request: ProbeRequest, sizeBytes: number): Buffer {
  if (sizeBytes < UDP_HEADER_BYTES || sizeBytes > UDP_MAX_PACKET_BYTES) {
    throw new RangeError(`UDP probe packet size must be ${UDP_HEADER_BYTES}-${UDP_MAX_PACKET_BYTES} bytes, got ${sizeBytes}`);
  }
  const packet = Buffer.alloc(sizeBytes);
  packet.writeUInt32BE(UDP_MAGIC, OFFSET.magic);
  packet.writeUInt8(PACKET_TYPE.request, OFFSET.type);
  packet.writeUInt32BE(request.sessionId >>> 0, OFFSET.sessionId);
  packet.writeUInt32BE(request.senderSeq >>> 0, OFFSET.senderSeq);
  packet.writeBigUInt64BE(BigInt.asUintN(64, request.senderTxNs), OFFSET.senderTx);
  return packet;
}

/** The fields of a valid request, or undefined for anything the reflector must not answer. */
export function decodeRequest(packet: Buffer, maxBytes = UDP_MAX_PACKET_BYTES): ProbeRequest | undefined {
  if (packet.length < UDP_HEADER_BYTES || packet.length > maxBytes) return undefined;
  if (packet.readUInt32BE(OFFSET.magic) !== UDP_MAGIC || packet.readUInt8(OFFSET.type) !== PACKET_TYPE.request) return undefined;
  return {
    sessionId: packet.readUInt32BE(OFFSET.sessionId),
    senderSeq: packet.readUInt32BE(OFFSET.senderSeq),
    senderTxNs: packet.readBigUInt64BE(OFFSET.senderTx),
  };
}

/**
 * Turns a received request into its reply in place (same length: the reflector never amplifies).
 * The transmit timestamp is written last, by stampTransmit, just before sending.
 */
export function fillReply(packet: Buffer, fields: { outOfOrder: boolean; reflectorRxNs: bigint; reflectorSeq: number; stateStart: number }): void {
  packet.writeUInt8(PACKET_TYPE.reply, OFFSET.type);
  packet.writeUInt8(fields.outOfOrder ? REPLY_FLAG_OUT_OF_ORDER : 0, OFFSET.flags);
  packet.writeBigUInt64BE(BigInt.asUintN(64, fields.reflectorRxNs), OFFSET.reflectorRx);
  packet.writeUInt32BE(fields.reflectorSeq >>> 0, OFFSET.reflectorSeq);
  packet.writeUInt32BE(fields.stateStart >>> 0, OFFSET.stateStart);
}

export function stampTransmit(packet: Buffer, reflectorTxNs: bigint): void {
  packet.writeBigUInt64BE(BigInt.asUintN(64, reflectorTxNs), OFFSET.reflectorTx);
}

export function decodeReply(packet: Buffer): ProbeReply | undefined {
  if (packet.length < UDP_HEADER_BYTES) return undefined;
  if (packet.readUInt32BE(OFFSET.magic) !== UDP_MAGIC || packet.readUInt8(OFFSET.type) !== PACKET_TYPE.reply) return undefined;
  return {
    sessionId: packet.readUInt32BE(OFFSET.sessionId),
    senderSeq: packet.readUInt32BE(OFFSET.senderSeq),
    senderTxNs: packet.readBigUInt64BE(OFFSET.senderTx),
    outOfOrder: (packet.readUInt8(OFFSET.flags) & REPLY_FLAG_OUT_OF_ORDER) !== 0,
    reflectorRxNs: packet.readBigUInt64BE(OFFSET.reflectorRx),
    reflectorTxNs: packet.readBigUInt64BE(OFFSET.reflectorTx),
    reflectorSeq: packet.readUInt32BE(OFFSET.reflectorSeq),
    stateStart: packet.readUInt32BE(OFFSET.stateStart),
  };
}
