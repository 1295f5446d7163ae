import type { FailureReason } from '../types.js';

/**
 * ICMP echo packets and the replies a socket hands back. Pure functions, no sockets.
 * IPv4 raw sockets deliver the IP header in front of the ICMP message; IPv6 raw sockets and ping
 * sockets (both families) do not.
 */
export type IpVersion = 4 | 6;

const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;
/** ICMP error types that quote the packet that caused them. */
const ERROR_TYPES: Record<IpVersion, ReadonlySet<number>> = {
  4: new Set([3, 4, 5, 11, 12]), // unreachable, source quench, redirect, time exceeded, parameter problem
  6: new Set([1, 2, 3, 4]), // unreachable, packet too big, time exceeded, parameter problem
};
const ICMP_HEADER_BYTES = 8;
const IPV4_PROTOCOL_ICMP = 1;
const IPV6_HEADER_BYTES = 40;
const IPV6_NEXT_HEADER_ICMPV6 = 58;

/** The message types a socket needs to see; everything else can be filtered in the kernel. */
export const WANTED_TYPES: Record<IpVersion, readonly number[]> = {
  4: [ECHO_REPLY[4], 3, 11, 12],
  6: [ECHO_REPLY[6], 1, 2, 3, 4],
};

/**
 * An echo request: type, code, checksum, identifier, sequence, then `payloadBytes` of a fixed
 * pattern (as ping). The IPv6 checksum covers a pseudo-header and is filled in by the kernel.
 */
export function buildEchoRequest(version: IpVersion, identifier: number, sequence: number, payloadBytes: number): Buffer {
  const packet = Buffer.allocUnsafe(ICMP_HEADER_BYTES + payloadBytes);
  packet.writeUInt8(ECHO_REQUEST[version], 0);
  packet.writeUInt8(0, 1);
  packet.writeUInt16BE(0, 2);
  packet.writeUInt16BE(identifier, 4);
  packet.writeUInt16BE(sequence, 6);
  for (let i = 0; i < payloadBytes; i++) packet[ICMP_HEADER_BYTES + i] = i & 0xff;
  if (version === 4) packet.writeUInt16BE(internetChecksum(packet), 2);
  return packet;
}

/** RFC 1071 ones'-complement checksum. */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (even < data.length) sum += data[even]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A received packet that answers one of our echo requests. */
export type EchoAnswer =
  /** `source` is the replying address from the IPv4 header; IPv6 raw sockets give it only as recvfrom's address. */
  | { kind: 'reply'; identifier: number; sequence: number; source: Buffer | undefined }
  /** An ICMP error quoting our request: `destination` is the quoted request's destination, raw bytes. */
  | { kind: 'error'; identifier: number; sequence: number; type: number; code: number; destination: Buffer };

/**
 * Parses what an ICMP socket received; `withIpHeader` when the IPv4 header comes first (IPv4 raw
 * sockets). Returns undefined for anything that is not an echo reply or an error quoting an echo
 * request (e.g. our own requests seen on loopback, truncated or foreign packets). Identifier and
 * sequence are still to be matched by the caller.
 */
export function parseEchoAnswer(version: IpVersion, packet: Buffer, withIpHeader = version === 4): EchoAnswer | undefined {
  const icmpStart = withIpHeader ? ipv4HeaderLength(packet) : 0;
  if (icmpStart === undefined || packet.length < icmpStart + ICMP_HEADER_BYTES) return undefined;
  const type = packet[icmpStart]!;
  const code = packet[icmpStart + 1]!;
  if (type === ECHO_REPLY[version]) {
    const source = withIpHeader ? packet.subarray(12, 16) : undefined;
    return { kind: 'reply', identifier: packet.readUInt16BE(icmpStart + 4), sequence: packet.readUInt16BE(icmpStart + 6), source };
  }
  if (!ERROR_TYPES[version].has(type)) return undefined;
  const quoted = packet.subarray(icmpStart + ICMP_HEADER_BYTES);
  const request = version === 4 ? quotedIpv4Request(quoted) : quotedIpv6Request(quoted);
  if (!request) return undefined;
  return { kind: 'error', type, code, ...request };
}

/**
 * An ICMP error from a ping socket's error queue: the kernel gives type and code apart, the
 * destination of the request as an address, and the request itself from its ICMP header on.
 */
export function parseQueuedError(version: IpVersion, type: number, code: number, destination: Buffer, request: Buffer): EchoAnswer | undefined {
  const quoted = quotedEchoRequest(version, request, 0, destination);
  return quoted && { kind: 'error', type, code, ...quoted };
}

function ipv4HeaderLength(packet: Buffer): number | undefined {
  if (packet.length < 20 || packet[0]! >> 4 !== 4) return undefined;
  const length = (packet[0]! & 0x0f) * 4;
  return length >= 20 ? length : undefined;
}

interface QuotedRequest {
  identifier: number;
  sequence: number;
  destination: Buffer;
}

function quotedIpv4Request(quoted: Buffer): QuotedRequest | undefined {
  const headerLength = ipv4HeaderLength(quoted);
  if (headerLength === undefined || quoted[9] !== IPV4_PROTOCOL_ICMP) return undefined;
  return quotedEchoRequest(4, quoted, headerLength, quoted.subarray(16, 20));
}

function quotedIpv6Request(quoted: Buffer): QuotedRequest | undefined {
  if (quoted.length < IPV6_HEADER_BYTES || quoted[0]! >> 4 !== 6 || quoted[6] !== IPV6_NEXT_HEADER_ICMPV6) return undefined;
  return quotedEchoRequest(6, quoted, IPV6_HEADER_BYTES, quoted.subarray(24, 40));
}

function quotedEchoRequest(version: IpVersion, quoted: Buffer, at: number, destination: Buffer): QuotedRequest | undefined {
  if (quoted.length < at + ICMP_HEADER_BYTES || quoted[at] !== ECHO_REQUEST[version]) return undefined;
  return { identifier: quoted.readUInt16BE(at + 4), sequence: quoted.readUInt16BE(at + 6), destination };
}

/**
 * The failure an ICMP error means for the echo it quotes, or undefined when the error does not
 * end the echo (a redirect or source quench: the request was still forwarded).
 */
export function failureForError(version: IpVersion, type: number, code: number): { reason: FailureReason; what: string } | undefined {
  if (version === 4) {
    if (type === 3) return { reason: 'unreachable', what: `destination unreachable (${UNREACHABLE_V4[code] ?? `code ${code}`})` };
    if (type === 11) return { reason: 'unreachable', what: code === 0 ? 'time exceeded in transit (TTL)' : 'fragment reassembly time exceeded' };
    if (type === 12) return { reason: 'error', what: `parameter problem (code ${code})` };
    return undefined;
  }
  if (type === 1) return { reason: 'unreachable', what: `destination unreachable (${UNREACHABLE_V6[code] ?? `code ${code}`})` };
  if (type === 3) return { reason: 'unreachable', what: code === 0 ? 'hop limit exceeded in transit' : 'fragment reassembly time exceeded' };
  if (type === 2) return { reason: 'error', what: 'packet too big' };
  if (type === 4) return { reason: 'error', what: `parameter problem (code ${code})` };
  return undefined;
}

const UNREACHABLE_V4: Record<number, string> = {
  0: 'network unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  4: 'fragmentation needed',
  9: 'network administratively prohibited',
  10: 'host administratively prohibited',
  13: 'communication administratively prohibited',
};

const UNREACHABLE_V6: Record<number, string> = {
  0: 'no route to destination',
  1: 'communication administratively prohibited',
  3: 'address unreachable',
  4: 'port unreachable',
  5: 'source address failed ingress/egress policy',
  6: 'reject route to destination',
};

/** The raw bytes of an IP address in text form (as dns.lookup returns it); undefined if malformed. */
export function addressBytes(address: string): Buffer | undefined {
  if (address.includes(':')) return ipv6Bytes(address);
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return Buffer.from(parts.map(Number));
}

function ipv6Bytes(address: string): Buffer | undefined {
  const zoneless = address.split('%')[0]!;
  const halves = zoneless.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (!half) return [];
    const out: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = addressBytes(piece);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  return bytes;
}
