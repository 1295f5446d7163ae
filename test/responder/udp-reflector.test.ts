// The responder's UDP reflector and TCP listener on loopback: packet format, no amplification,
// per-source rate limit, bounded per-sender state. Format: docs/udp-reflector.md.
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningResponder } from '../../responder/server.js';
import { decodeReply, encodeRequest, UDP_HEADER_BYTES } from '../../lib/udp-packet.js';
import { metricValue, startTestResponder } from './support.js';

/** A UDP client socket bound to `address` (any 127/8 address is a distinct loopback source). */
async function client(address = '127.0.0.1'): Promise<Socket & { replies: Buffer[] }> {
  const socket = Object.assign(createSocket('udp4'), { replies: [] as Buffer[] });
  socket.on('message', (packet) => socket.replies.push(packet));
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  return socket;
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('UDP reflector and TCP listener (loopback)', () => {
  let responder: (RunningResponder & { output: () => string }) | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await responder?.stop();
    responder = undefined;
  });
  const start = async (input: Record<string, unknown> = {}) => (responder = await startTestResponder({ http: { enabled: false }, ...input }));
  const newClient = async (address?: string) => {
    const socket = await client(address);
    sockets.push(socket);
    return socket;
  };

  it('reflects each request with timestamps and counters, same size as the request', async () => {
    const r = await start();
    const socket = await newClient();
    for (const [seq, size] of [[5, 64], [6, 1000], [7, UDP_HEADER_BYTES]] as const) {
      socket.send(encodeRequest({ sessionId: 42, senderSeq: seq, senderTxNs: 123n }, size), r.ports.udp!, '127.0.0.1');
    }
    await settle();
    expect(socket.replies.map((p) => p.length)).toEqual([64, 1000, UDP_HEADER_BYTES]);
    const replies = socket.replies.map((p) => decodeReply(p)!);
    expect(replies.map((r) => [r.sessionId, r.senderSeq, r.senderTxNs, r.reflectorSeq, r.stateStart, r.outOfOrder])).toEqual([
      [42, 5, 123n, 1, 5, false],
      [42, 6, 123n, 2, 5, false],
      [42, 7, 123n, 3, 5, false],
    ]);
    for (const reply of replies) expect(reply.reflectorTxNs >= reply.reflectorRxNs).toBe(true);
    expect(await metricValue(r.registry, 'linkmon_responder_udp_reflected_total')).toBe(3);
  });

  it('flags a request that arrives after a higher sequence as out of order', async () => {
    const r = await start();
    const socket = await newClient();
    for (const seq of [0, 2, 1]) {
      socket.send(encodeRequest({ sessionId: 1, senderSeq: seq, senderTxNs: 0n }, 64), r.ports.udp!, '127.0.0.1');
      await settle();
    }
    expect(socket.replies.map((p) => decodeReply(p)!.outOfOrder)).toEqual([false, false, true]);
  });

  it('answers nothing that is not a valid request: too short, wrong magic, a reply, too long', async () => {
    const r = await start({ udp: { port: 0, max_packet_bytes: 512, rate_limit: { packets_per_second: 1000, burst: 1000 } } });
    const socket = await newClient();
    const valid = encodeRequest({ sessionId: 1, senderSeq: 0, senderTxNs: 0n }, 64);
    const reply = Buffer.from(valid);
    reply[4] = 2;
    const badMagic = Buffer.from(valid);
    badMagic[3] = 9;
    for (const packet of [Buffer.alloc(10), valid.subarray(0, UDP_HEADER_BYTES - 1), badMagic, reply, encodeRequest({ sessionId: 1, senderSeq: 0, senderTxNs: 0n }, 600)]) {
      socket.send(packet, r.ports.udp!, '127.0.0.1');
    }
    await settle();
    expect(socket.replies).toEqual([]);
    expect(await metricValue(r.registry, 'linkmon_responder_rejections_total', { endpoint: 'udp', reason: 'malformed' })).toBe(5);
  });

  it('rate-limits one source address and keeps serving another', async () => {
    const r = await start({ udp: { port: 0, rate_limit: { packets_per_second: 10, burst: 5 } } });
    const flooder = await newClient('127.0.0.1');
    const polite = await newClient('127.0.0.2');
    for (let seq = 0; seq < 50; seq++) flooder.send(encodeRequest({ sessionId: 7, senderSeq: seq, senderTxNs: 0n }, 64), r.ports.udp!, '127.0.0.1');
    await settle();
    polite.send(encodeRequest({ sessionId: 8, senderSeq: 0, senderTxNs: 0n }, 64), r.ports.udp!, '127.0.0.1');
    await settle();
    // Burst of 5, plus the few tokens refilled while the 50 were sent.
    expect(flooder.replies.length).toBeGreaterThanOrEqual(5);
    expect(flooder.replies.length).toBeLessThanOrEqual(15);
    expect(polite.replies).toHaveLength(1);
    const limited = await metricValue(r.registry, 'linkmon_responder_rejections_total', { endpoint: 'udp', reason: 'rate_limited' });
    expect(limited).toBe(50 - flooder.replies.length);
    const warnings = r.output().split('\n').filter((line) => line.includes('over its rate limit'));
    expect(warnings).toHaveLength(1);
  });

  it('keeps at most max_senders per-sender states (least recently used evicted)', async () => {
    const r = await start({ udp: { port: 0, max_senders: 4, rate_limit: { packets_per_second: 1000, burst: 1000 } } });
    const socket = await newClient();
    for (let session = 0; session < 10; session++) socket.send(encodeRequest({ sessionId: session, senderSeq: 0, senderTxNs: 0n }, 64), r.ports.udp!, '127.0.0.1');
    await settle();
    expect(socket.replies).toHaveLength(10);
    expect(await metricValue(r.registry, 'linkmon_responder_udp_senders')).toBe(4);
    expect(await metricValue(r.registry, 'linkmon_responder_udp_senders_evicted_total')).toBe(6);
    // An evicted sender comes back as a new state: sequence restarts at 1 from its new start.
    socket.send(encodeRequest({ sessionId: 0, senderSeq: 1, senderTxNs: 0n }, 64), r.ports.udp!, '127.0.0.1');
    await settle();
    const last = decodeReply(socket.replies.at(-1)!)!;
    expect([last.reflectorSeq, last.stateStart]).toEqual([1, 1]);
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
