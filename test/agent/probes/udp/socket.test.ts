// The STAMP session's socket with kernel receive timestamps (agent/probes/native/udp_socket.c) against a loopback echo.
import { createSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeAddon } from '../../../../agent/probes/native/addon.js';
import { openReflectorSocket, type UdpTransport } from '../../../../agent/probes/udp/socket.js';
import { freeLoopbackUdpPort } from '../../../support/ports.js';

/** How long the agent's event loop stays busy after sending: what a /metrics render would do. */
const STALL_MS = 250;

/** A UDP echo on its own thread, so the busy loop below holds up the agent's side only. */
const ECHO = `
const { parentPort } = require('node:worker_threads');
const echo = require('node:dgram').createSocket('udp4');
echo.on('message', (packet, from) => echo.send(packet, from.port, from.address));
echo.bind(0, '127.0.0.1', () => parentPort.postMessage(echo.address().port));
`;

describe('reflector socket with kernel receive timestamps', () => {
  let echo: Worker;
  let port: number;
  let timestamping: { close(): void };
  beforeAll(async () => {
    echo = new Worker(ECHO, { eval: true });
    port = await new Promise<number>((resolve) => echo.once('message', resolve));
    // Linux switches receive timestamps on for the whole host a moment after the first socket asks
    // (net_enable_timestamp is deferred to a workqueue); until then a datagram is stamped when it is
    // read, and a fresh socket's first reply read 251 ms for a 250 ms stall. One socket held open,
    // as the agent holds its STAMP session's, keeps them on.
    timestamping = await openReflectorSocket('127.0.0.1', 4, port, { onMessage: () => {}, onError: () => {} }, 'kernel');
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  afterAll(async () => {
    timestamping?.close();
    await echo.terminate();
  });

  /** Sends one datagram and resolves with the round trip in ms as the socket timed it; 'stall' keeps the loop busy meanwhile. */
  async function roundTrip(transport: UdpTransport, payload: string): Promise<{ timestamps: string; rttMs: number; echoed: string }> {
    let answered!: (value: { packet: Buffer; receivedNs: bigint }) => void;
    const reply = new Promise<{ packet: Buffer; receivedNs: bigint }>((resolve) => (answered = resolve));
    const socket = await openReflectorSocket('127.0.0.1', 4, port, { onMessage: (packet, receivedNs) => answered({ packet, receivedNs }), onError: () => {} }, transport);
    try {
      const sentNs = socket.send(Buffer.from(payload));
      if (payload === 'stall') {
        const until = performance.now() + STALL_MS;
        while (performance.now() < until);
      }
      const { packet, receivedNs } = await reply;
      return { timestamps: socket.timestamps, rttMs: Number(receivedNs - sentNs) / 1e6, echoed: packet.toString() };
    } finally {
      socket.close();
    }
  }

  it('is built: the agent times UDP replies with the kernel clock', () => {
    expect(nativeAddon()?.udp).toBeDefined();
  });

  it('takes the receive time when the datagram arrived, not when a busy event loop got to it', async () => {
    const kernel = await roundTrip('kernel', 'stall');
    const eventLoop = await roundTrip('dgram', 'stall');
    expect(kernel).toMatchObject({ timestamps: 'kernel', echoed: 'stall' });
    expect(eventLoop).toMatchObject({ timestamps: 'event-loop', echoed: 'stall' });
    // The echo answered at once: the kernel saw the reply long before the loop was free again.
    expect(kernel.rttMs).toBeLessThan(STALL_MS);
    expect(eventLoop.rttMs).toBeGreaterThanOrEqual(STALL_MS);
  });

  it('binds the source address on either transport; DSCP or an interface on node:dgram is refused, not dropped silently', async () => {
    const handlers = { onMessage: () => {}, onError: () => {} };
    for (const transport of ['kernel', 'dgram'] as const) {
      const socket = await openReflectorSocket('127.0.0.1', 4, port, handlers, transport, { source: '127.0.0.1' });
      socket.close();
      await expect(openReflectorSocket('127.0.0.1', 4, port, handlers, transport, { source: '192.0.2.1' })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    }
    const marked = await openReflectorSocket('127.0.0.1', 4, port, handlers, 'kernel', { dscp: 46 });
    marked.close();
    const refused = await openReflectorSocket('127.0.0.1', 4, port, handlers, 'dgram', { dscp: 46 }).catch((err: NodeJS.ErrnoException) => err);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as NodeJS.ErrnoException).code).toBeUndefined();
    expect((refused as Error).message).toMatch(/DSCP 46: node:dgram sets neither/);
  });

  it('reports an ICMP port unreachable from the peer as ECONNREFUSED, and keeps receiving afterwards', async () => {
    const port = await freeLoopbackUdpPort();
    const events: string[] = [];
    let next!: () => void;
    const socket = await openReflectorSocket('127.0.0.1', 4, port, { onMessage: (packet) => (events.push(`message ${packet}`), next()), onError: (err) => (events.push(`error ${err.code}`), next()) }, 'kernel');
    const event = () => new Promise<void>((resolve) => (next = resolve));
    try {
      let arrived = event();
      socket.send(Buffer.from('anyone?'));
      await arrived;
      // libuv stops polling on the socket error: the socket must start again to hear the peer once it is up.
      const late = createSocket('udp4');
      await new Promise<void>((resolve) => late.bind(port, '127.0.0.1', () => resolve()));
      late.on('message', (packet, from) => late.send(packet, from.port, from.address));
      arrived = event();
      socket.send(Buffer.from('now?'));
      await arrived;
      late.close();
      expect(events).toEqual(['error ECONNREFUSED', 'message now?']);
    } finally {
      socket.close();
    }
  });
});
