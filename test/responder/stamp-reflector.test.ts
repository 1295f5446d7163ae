// The responder's STAMP reflector and TCP listener on loopback: reflections per RFC 8762 §4.3
// (stateful), no amplification, per-source rate limit, loop guard, bounded session state.
// Packet layouts: docs/stamp.md.
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningResponder } from '../../responder/server.js';
import { decodeReflectorPacket, encodeSenderPacket, STAMP_BASE_BYTES } from '../../lib/stamp/packet.js';
import { LINKMON_ERROR_ESTIMATE, type ErrorEstimate } from '../../lib/stamp/timestamp.js';
import { waitFor } from '../support/linkmon-process.js';
import { metricValue, startTestResponder } from './support.js';

const SENDER_ESTIMATE: ErrorEstimate = { synchronized: true, format: 'ntp', scale: 3, multiplier: 7 };
const T1 = 1_790_000_000_000_000_000n;
const request = (seq: number, size = STAMP_BASE_BYTES) => encodeSenderPacket({ seq, timestampNs: T1 + BigInt(seq), errorEstimate: SENDER_ESTIMATE }, size);

/** A UDP client socket bound to `address` (any 127/8 address is a distinct loopback source) and `port` (0: any). */
async function client(address = '127.0.0.1', port = 0): Promise<Socket & { replies: Buffer[] }> {
  const socket = Object.assign(createSocket('udp4'), { replies: [] as Buffer[] });
  socket.on('message', (packet) => socket.replies.push(packet));
  await new Promise<void>((resolve) => socket.bind(port, address, () => resolve()));
  return socket;
}

/**
 * Until the reflector has handled `count` datagrams (answered or rejected, by its own counters) and
 * `arrived()` holds for the replies: a fixed sleep (150 ms) missed them all on a box loaded to 14.
 */
async function handled(r: RunningResponder, count: number, arrived: () => boolean = () => true): Promise<void> {
  const total = async () => {
    let sum = await metricValue(r.registry, 'linkmon_responder_udp_reflected_total');
    for (const reason of ['malformed', 'loop_guard', 'rate_limited']) sum += await metricValue(r.registry, 'linkmon_responder_rejections_total', { endpoint: 'udp', reason });
    return sum;
  };
  await waitFor(`the reflector to handle ${count} datagrams`, async () => ((await total()) >= count && arrived() ? true : undefined), 10_000, 10);
}

describe('STAMP reflector and TCP listener (loopback)', () => {
  let responder: (RunningResponder & { output: () => string }) | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await responder?.stop();
    responder = undefined;
  });
  const start = async (input: Record<string, unknown> = {}) => (responder = await startTestResponder({ http: { enabled: false }, ...input }));
  const newClient = async (address?: string, port?: number) => {
    const socket = await client(address, port);
    sockets.push(socket);
    return socket;
  };

  it('reflects each request statefully, as long as the request, with its timestamps and the sender fields copied', async () => {
    const r = await start();
    const socket = await newClient();
    const before = BigInt(Date.now() - 1) * 1_000_000n;
    for (const [seq, size] of [[5, STAMP_BASE_BYTES], [6, 1000], [8, 48]] as const) socket.send(request(seq, size), r.ports.udp!, '127.0.0.1');
    await handled(r, 3, () => socket.replies.length === 3);
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    expect(socket.replies.map((p) => p.length)).toEqual([STAMP_BASE_BYTES, 1000, 48]);
    const replies = socket.replies.map((p) => decodeReflectorPacket(p)!);
    // Its own count from 0 (stateful), whatever our numbers (7 never arrived).
    expect(replies.map((reply) => [reply.seq, reply.sender.seq])).toEqual([[0, 5], [1, 6], [2, 8]]);
    for (const [i, reply] of replies.entries()) {
      expect(reply.sender).toEqual({ seq: reply.sender.seq, timestampNs: T1 + BigInt(reply.sender.seq), errorEstimate: SENDER_ESTIMATE });
      expect(reply.errorEstimate).toEqual(LINKMON_ERROR_ESTIMATE);
      expect(reply.senderTtl).toBe(255);
      expect(reply.receiveTimestampNs >= before && reply.receiveTimestampNs <= reply.timestampNs && reply.timestampNs <= after, `reply ${i}: T2 <= T3 within the test`).toBe(true);
    }
    // What follows the base packet is the request's own (its Extra Padding TLV header here).
    expect(socket.replies[1]!.subarray(STAMP_BASE_BYTES, STAMP_BASE_BYTES + 4).toString('hex')).toBe('000103b8');
    expect(await metricValue(r.registry, 'linkmon_responder_udp_reflected_total')).toBe(3);
  });

  it('starts a new session when a sender sends sequence number 0 again', async () => {
    const r = await start();
    const socket = await newClient();
    // Loopback keeps one socket's datagrams in order.
    for (const seq of [0, 2, 3, 0, 2]) socket.send(request(seq), r.ports.udp!, '127.0.0.1');
    await handled(r, 5, () => socket.replies.length === 5);
    expect(socket.replies.map((p) => decodeReflectorPacket(p)!.seq)).toEqual([0, 1, 2, 0, 1]);
  });

  it('answers nothing that could amplify or is not a sender packet: shorter than 44 octets, too long, Multiplier 0', async () => {
    const r = await start({ udp: { port: 0, max_packet_bytes: 512, rate_limit: { packets_per_second: 1000, burst: 1000 } } });
    const socket = await newClient();
    const zeroMultiplier = request(1);
    zeroMultiplier.writeUInt16BE(0x0100, 12);
    // A 14-octet TWAMP-Light packet without padding, one octet short of the base packet, 600 octets, garbage.
    for (const packet of [request(1).subarray(0, 14), request(1).subarray(0, STAMP_BASE_BYTES - 1), request(1, 600), zeroMultiplier, Buffer.alloc(10)]) {
      socket.send(packet, r.ports.udp!, '127.0.0.1');
    }
    await handled(r, 5);
    expect(socket.replies).toEqual([]);
    expect(await metricValue(r.registry, 'linkmon_responder_rejections_total', { endpoint: 'udp', reason: 'malformed' })).toBe(5);
  });

  it("answers nothing from a reflector's port (its own, 862), so two reflectors cannot bounce a packet for ever", async () => {
    const r = await start();
    const reflectorLike = await newClient('127.0.0.2', r.ports.udp!);
    reflectorLike.send(request(0), r.ports.udp!, '127.0.0.1');
    await handled(r, 1);
    expect(reflectorLike.replies).toEqual([]);
    expect(await metricValue(r.registry, 'linkmon_responder_rejections_total', { endpoint: 'udp', reason: 'loop_guard' })).toBe(1);
  });

  it('rate-limits one source address and keeps serving another', async () => {
    const r = await start({ udp: { port: 0, rate_limit: { packets_per_second: 10, burst: 5 } } });
    const flooder = await newClient('127.0.0.1');
    const polite = await newClient('127.0.0.2');
    for (let seq = 0; seq < 50; seq++) flooder.send(request(seq), r.ports.udp!, '127.0.0.1');
    await handled(r, 50);
    const reflected = await metricValue(r.registry, 'linkmon_responder_udp_reflected_total');
    await handled(r, 50, () => flooder.replies.length === reflected);
    polite.send(request(0), r.ports.udp!, '127.0.0.1');
    await handled(r, 51, () => polite.replies.length === 1);
    // Burst of 5, plus the few tokens refilled while the 50 were sent.
    expect(flooder.replies.length).toBeGreaterThanOrEqual(5);
    expect(flooder.replies.length).toBeLessThanOrEqual(15);
    expect(polite.replies).toHaveLength(1);
    const limited = await metricValue(r.registry, 'linkmon_responder_rejections_total', { endpoint: 'udp', reason: 'rate_limited' });
    expect(limited).toBe(50 - flooder.replies.length);
    const warnings = r.output().split('\n').filter((line) => line.includes('over its rate limit'));
    expect(warnings).toHaveLength(1);
  });

  it('keeps at most max_senders session states (least recently used evicted)', async () => {
    const r = await start({ udp: { port: 0, max_senders: 4, rate_limit: { packets_per_second: 1000, burst: 1000 } } });
    const senders = await Promise.all(Array.from({ length: 10 }, () => newClient()));
    for (const sender of senders) sender.send(request(0), r.ports.udp!, '127.0.0.1');
    await handled(r, 10, () => senders.every((s) => s.replies.length === 1));
    expect(senders.map((s) => s.replies.length)).toEqual(Array(10).fill(1));
    expect(await metricValue(r.registry, 'linkmon_responder_udp_senders')).toBe(4);
    expect(await metricValue(r.registry, 'linkmon_responder_udp_senders_evicted_total')).toBe(6);
    // An evicted sender comes back as a new session: the count restarts at 0.
    const first = senders[0]!;
    first.send(request(2), r.ports.udp!, '127.0.0.1');
    await handled(r, 11, () => first.replies.length === 2);
    expect(decodeReflectorPacket(first.replies.at(-1)!)!.seq).toBe(0);
  });

  it('TCP listener accepts and closes connections, counted', async () => {
    const r = await start();
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(r.ports.tcp!, '127.0.0.1');
        socket.once('error', reject);
        socket.once('close', () => resolve());
        socket.resume();
      });
    }
    expect(await metricValue(r.registry, 'linkmon_responder_tcp_connections_total')).toBe(3);
  });
});
