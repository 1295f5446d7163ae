import { createSocket } from 'node:dgram';
import { nativeAddon } from './native/addon.js';
import type { AddressFamily } from './resolver.js';

/**
 * A UDP socket connected to one peer whose datagrams carry their receive time, for request/reply
 * probes that time a round trip (linkmon's UDP probe; the STAMP session-sender can use it as is:
 * the payload is opaque here). Both instants are on the monotonic clock of process.hrtime.bigint():
 * - 'kernel' (native/udp_socket.c): the send time is read just before send() and the receive time
 *   is the kernel's SO_TIMESTAMPNS, so a busy event loop (a /metrics render, other probes) adds
 *   nothing to the round trip;
 * - 'event-loop' (node:dgram) when the addon is not built: the receive time is taken when the
 *   event loop hands the datagram over.
 */
export interface TimestampedUdpSocket {
  readonly timestamps: 'kernel' | 'event-loop';
  /** Sends one datagram; returns the monotonic time (ns) just before it left. Throws a send error the kernel reports at once. */
  send(packet: Buffer): bigint;
  close(): void;
}

export interface TimestampedUdpEvents {
  /** `packet` is the datagram's payload; `receivedNs` when it reached the socket (or the event loop, see above). */
  message(packet: Buffer, receivedNs: bigint): void;
  /** A receive or delayed send error, with `code`: an ICMP port unreachable from the peer comes as ECONNREFUSED. */
  error(err: NodeJS.ErrnoException): void;
}

export interface UdpPeer {
  address: string;
  family: AddressFamily;
  port: number;
}

/** 'auto': kernel timestamps when the addon is built, node:dgram otherwise. The others are for tests and benches. */
export type UdpTransport = 'auto' | 'kernel' | 'dgram';

/** Opens and connects the socket; rejects (with `code`) when it cannot, e.g. EPERM or EINVAL. */
export async function openTimestampedUdp(peer: UdpPeer, events: TimestampedUdpEvents, transport: UdpTransport = 'auto'): Promise<TimestampedUdpSocket> {
  const addon = transport === 'dgram' ? undefined : nativeAddon();
  if (addon) {
    const handle = addon.udp.open(peer.family, events.message, events.error);
    try {
      addon.udp.connect(handle, peer.address, peer.port);
    } catch (err) {
      addon.udp.close(handle);
      throw err;
    }
    return { timestamps: 'kernel', send: (packet) => addon.udp.send(handle, packet), close: () => addon.udp.close(handle) };
  }
  if (transport === 'kernel') throw new Error('the timestamped UDP addon is not built (agent/probes/native: npm run build:native)');
  return openDgram(peer, events);
}

async function openDgram(peer: UdpPeer, events: TimestampedUdpEvents): Promise<TimestampedUdpSocket> {
  const socket = createSocket(peer.family === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(peer.port, peer.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    socket.close();
    throw err;
  }
  socket.on('message', (packet) => events.message(packet, process.hrtime.bigint()));
  socket.on('error', events.error);
  return {
    timestamps: 'event-loop',
    send: (packet) => {
      const sentNs = process.hrtime.bigint();
      socket.send(packet, (err) => err && events.error(err));
      return sentNs;
    },
    close: () => socket.close(),
  };
}
