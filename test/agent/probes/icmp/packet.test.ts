import { describe, expect, it } from 'vitest';
import { addressBytes, buildEchoRequest, failureForError, internetChecksum, parseEchoAnswer, parseQueuedError } from '../../../../agent/probes/icmp/packet.js';

/** An IPv4 header (no options unless `ihlWords` > 5) in front of `payload`. */
function ipv4(source: string, destination: string, protocol: number, payload: Buffer, ihlWords = 5): Buffer {
  const header = Buffer.alloc(ihlWords * 4);
  header[0] = 0x40 | ihlWords;
  header.writeUInt16BE(header.length + payload.length, 2);
  header[8] = 64;
  header[9] = protocol;
  addressBytes(source)!.copy(header, 12);
  addressBytes(destination)!.copy(header, 16);
  return Buffer.concat([header, payload]);
}

function ipv6(source: string, destination: string, nextHeader: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(40);
  header[0] = 0x60;
  header.writeUInt16BE(payload.length, 4);
  header[6] = nextHeader;
  header[7] = 64;
  addressBytes(source)!.copy(header, 8);
  addressBytes(destination)!.copy(header, 24);
  return Buffer.concat([header, payload]);
}

function icmp(type: number, code: number, rest: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, code, 0, 0]), rest]);
}

describe('internetChecksum', () => {
  it('matches the RFC 1071 worked example', () => {
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (after the end-around carry).
    expect(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(~0xddf2 & 0xffff);
  });

  it('pads an odd final byte with zero', () => {
    expect(internetChecksum(Buffer.from([0x12, 0x34, 0x56]))).toBe(internetChecksum(Buffer.from([0x12, 0x34, 0x56, 0x00])));
  });
});

describe('buildEchoRequest', () => {
  it('builds an IPv4 echo request whose checksum verifies', () => {
    const packet = buildEchoRequest(4, 0xbeef, 513, 56);
    expect(packet.length).toBe(64);
    expect(packet[0]).toBe(8);
    expect(packet[1]).toBe(0);
    expect(packet.readUInt16BE(4)).toBe(0xbeef);
    expect(packet.readUInt16BE(6)).toBe(513);
    expect(internetChecksum(packet)).toBe(0);
  });

  it('allows an empty payload', () => {
    const packet = buildEchoRequest(4, 1, 2, 0);
    expect(packet.length).toBe(8);
    expect(internetChecksum(packet)).toBe(0);
  });

  it('leaves the ICMPv6 checksum to the kernel', () => {
    const packet = buildEchoRequest(6, 7, 9, 16);
    expect(packet[0]).toBe(128);
    expect(packet.readUInt16BE(2)).toBe(0);
    expect(packet.length).toBe(24);
  });
});

describe('parseEchoAnswer (IPv4, IP header included)', () => {
  const request = buildEchoRequest(4, 0x1234, 77, 56);

  it('reads identifier, sequence and source of an echo reply', () => {
    const reply = Buffer.from(request);
    reply[0] = 0;
    expect(parseEchoAnswer(4, ipv4('127.0.0.5', '127.0.0.1', 1, reply))).toEqual({
      kind: 'reply',
      identifier: 0x1234,
      sequence: 77,
      source: Buffer.from([127, 0, 0, 5]),
    });
  });

  it('skips IP options using the header length', () => {
    const reply = Buffer.from(request);
    reply[0] = 0;
    expect(parseEchoAnswer(4, ipv4('198.18.0.1', '198.18.0.2', 1, reply, 7))).toMatchObject({ kind: 'reply', sequence: 77 });
  });

  it('ignores our own echo request seen on loopback', () => {
    expect(parseEchoAnswer(4, ipv4('127.0.0.1', '127.0.0.1', 1, request))).toBeUndefined();
  });

  it('matches a destination unreachable to the request quoted in it', () => {
    const quoted = ipv4('198.18.0.1', '198.18.9.9', 1, request.subarray(0, 8));
    const error = ipv4('198.18.0.254', '198.18.0.1', 1, icmp(3, 1, Buffer.concat([Buffer.alloc(4), quoted])));
    expect(parseEchoAnswer(4, error)).toEqual({
      kind: 'error',
      type: 3,
      code: 1,
      identifier: 0x1234,
      sequence: 77,
      destination: Buffer.from([198, 18, 9, 9]),
    });
  });

  it('ignores errors about packets that are not echo requests', () => {
    const udp = ipv4('198.18.0.1', '198.18.9.9', 17, Buffer.alloc(8));
    expect(parseEchoAnswer(4, ipv4('198.18.0.254', '198.18.0.1', 1, icmp(3, 3, Buffer.concat([Buffer.alloc(4), udp]))))).toBeUndefined();
  });

  it('ignores truncated and non-IPv4 packets', () => {
    expect(parseEchoAnswer(4, Buffer.alloc(10))).toBeUndefined();
    const reply = Buffer.from(request);
    reply[0] = 0;
    const packet = ipv4('127.0.0.1', '127.0.0.1', 1, reply);
    expect(parseEchoAnswer(4, packet.subarray(0, 24))).toBeUndefined();
    packet[0] = 0x65;
    expect(parseEchoAnswer(4, packet)).toBeUndefined();
  });
});

describe('parseEchoAnswer (IPv6, no IP header)', () => {
  const request = buildEchoRequest(6, 0x4321, 65535, 8);

  it('reads an echo reply; the source comes from recvfrom', () => {
    const reply = Buffer.from(request);
    reply[0] = 129;
    expect(parseEchoAnswer(6, reply)).toEqual({ kind: 'reply', identifier: 0x4321, sequence: 65535, source: undefined });
  });

  it('ignores our own echo request', () => {
    expect(parseEchoAnswer(6, request)).toBeUndefined();
  });

  it('matches an address unreachable to the quoted request', () => {
    const quoted = ipv6('2001:db8::1', '2001:db8::99', 58, request);
    expect(parseEchoAnswer(6, icmp(1, 3, Buffer.concat([Buffer.alloc(4), quoted])))).toEqual({
      kind: 'error',
      type: 1,
      code: 3,
      identifier: 0x4321,
      sequence: 65535,
      destination: addressBytes('2001:db8::99'),
    });
  });

  it('ignores errors quoting another protocol', () => {
    const quoted = ipv6('2001:db8::1', '2001:db8::99', 17, Buffer.alloc(8));
    expect(parseEchoAnswer(6, icmp(1, 4, Buffer.concat([Buffer.alloc(4), quoted])))).toBeUndefined();
  });
});

describe('ping sockets (SOCK_DGRAM): no IP header, errors from the error queue', () => {
  const request = buildEchoRequest(4, 0x0abc, 5, 56);

  it('reads an IPv4 echo reply without an IP header; the source comes from recvmsg', () => {
    const reply = Buffer.from(request);
    reply[0] = 0;
    expect(parseEchoAnswer(4, reply, false)).toEqual({ kind: 'reply', identifier: 0x0abc, sequence: 5, source: undefined });
    // Read as if it had an IP header, the same bytes are no packet at all.
    expect(parseEchoAnswer(4, reply)).toBeUndefined();
  });

  it('matches a queued error by the quoted request and its destination', () => {
    const destination = addressBytes('198.18.9.9')!;
    expect(parseQueuedError(4, 3, 13, destination, request.subarray(0, 8))).toEqual({
      kind: 'error',
      type: 3,
      code: 13,
      identifier: 0x0abc,
      sequence: 5,
      destination,
    });
    const v6 = buildEchoRequest(6, 0x0def, 6, 0);
    expect(parseQueuedError(6, 1, 3, addressBytes('fd00::10')!, v6)).toMatchObject({ kind: 'error', identifier: 0x0def, sequence: 6 });
  });

  it('ignores a queued error whose quote is not an echo request or is truncated', () => {
    const destination = addressBytes('198.18.9.9')!;
    expect(parseQueuedError(4, 3, 1, destination, Buffer.alloc(8))).toBeUndefined();
    expect(parseQueuedError(4, 3, 1, destination, request.subarray(0, 6))).toBeUndefined();
  });
});

describe('failureForError', () => {
  it('maps unreachable and time exceeded to unreachable', () => {
    expect(failureForError(4, 3, 1)).toEqual({ reason: 'unreachable', what: 'destination unreachable (host unreachable)' });
    expect(failureForError(4, 11, 0)?.reason).toBe('unreachable');
    expect(failureForError(6, 1, 3)).toEqual({ reason: 'unreachable', what: 'destination unreachable (address unreachable)' });
    expect(failureForError(6, 3, 0)?.reason).toBe('unreachable');
  });

  it('maps parameter problems and packet too big to error', () => {
    expect(failureForError(4, 12, 0)?.reason).toBe('error');
    expect(failureForError(6, 2, 0)?.reason).toBe('error');
    expect(failureForError(6, 4, 1)?.reason).toBe('error');
  });

  it('does not end an echo on a redirect or source quench', () => {
    expect(failureForError(4, 5, 1)).toBeUndefined();
    expect(failureForError(4, 4, 0)).toBeUndefined();
  });
});

describe('addressBytes', () => {
  it('parses IPv4 and IPv6 text forms', () => {
    expect(addressBytes('127.0.0.1')).toEqual(Buffer.from([127, 0, 0, 1]));
    expect(addressBytes('::1')).toEqual(Buffer.from([...new Array(15).fill(0), 1]));
    expect(addressBytes('2001:db8::1')?.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(addressBytes('2001:DB8:0:0:0:0:0:1')).toEqual(addressBytes('2001:db8::1'));
    expect(addressBytes('::ffff:198.18.0.1')?.toString('hex')).toBe('00000000000000000000ffffc6120001');
    expect(addressBytes('fe80::1%eth0')?.toString('hex')).toBe('fe800000000000000000000000000001');
    expect(addressBytes('::')).toEqual(Buffer.alloc(16));
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['1.2.3', '256.1.1.1', '1.2.3.4.5', '1::2::3', 'gggg::1', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8', '']) {
      expect(addressBytes(bad), bad).toBeUndefined();
    }
  });
});
