import { createSocket } from 'node:dgram';
import { nativeAddon } from '../native/addon.js';
import type { AddressFamily } from '../resolver.js';
import { describeSocketOptions, needsAddon, type ProbeSocketOptions } from '../socket-options.js';

/**
 * The UDP socket of a STAMP session, connected to the reflector (its 4-tuple is the session).
 * Times are monotonic nanoseconds, the clock of process.hrtime.bigint(). Nothing here knows the
 * packet format: any request/reply probe over UDP can use it.
 */
export interface ReflectorSocket {
  /** 'kernel': replies carry the kernel's receive time (SO_TIMESTAMPNS); 'event-loop': node:dgram's, see below. */
  readonly timestamps: 'kernel' | 'event-loop';
  /** Sends one datagram; returns the time just before it went to the kernel. A send error goes to onError (or is thrown, kernel sockets). */
  send(packet: Buffer): bigint;
  close(): void;
}

export interface ReflectorSocketHandlers {
  onMessage(packet: Buffer, receivedNs: bigint): void;
  /** Send and receive errors, with `code`; on a connected socket an ICMP port-unreachable arrives as ECONNREFUSED. */
  onError(err: NodeJS.ErrnoException): void;
}

/** 'auto': kernel receive timestamps when the native addon is built, node:dgram otherwise. The others are for tests and benches. */
export type UdpTransport = 'auto' | 'kernel' | 'dgram';

/**
 * Opens a socket connected to `address:port` with the module's source address, interface and DSCP
 * (`options`, set before it connects, so every datagram carries them); rejects (with `code`:
 * EADDRNOTAVAIL for a source address the host does not have, ENODEV for an unknown interface) when
 * it cannot. With the native addon (native/udp_socket.c) a reply's receive time is when it reached
 * the socket, so a busy event loop (a /metrics render, other probes' callbacks) adds nothing to the
 * round trip.
 */
export async function openReflectorSocket(
  address: string,
  family: AddressFamily,
  port: number,
  handlers: ReflectorSocketHandlers,
  transport: UdpTransport = 'auto',
  options: ProbeSocketOptions = {},
): Promise<ReflectorSocket> {
  const addon = transport === 'dgram' ? undefined : nativeAddon();
  if (!addon) {
    if (transport === 'kernel') throw new Error('the timestamped UDP addon is not built (agent/probes/native: npm run build:native)');
    return openDgramSocket(address, family, port, handlers, options);
  }
  const onEvent = (packet: Buffer | undefined, receivedNs: bigint, errorCode: string | undefined) => {
    if (packet) handlers.onMessage(packet, receivedNs);
    else handlers.onError(Object.assign(new Error(`${address}:${port}: ${errorCode ?? 'error'}`), { code: errorCode }));
  };
  const handle = addon.udp.open(family, onEvent, options);
  try {
    addon.udp.connect(handle, address, port);
  } catch (err) {
    addon.udp.close(handle);
    throw err;
  }
  return { timestamps: 'kernel', send: (packet) => addon.udp.send(handle, packet), close: () => addon.udp.close(handle) };
}

/**
 * A node:dgram socket. The receive time is taken when the event loop handles the datagram, so it
 * includes whatever kept the loop busy. node:dgram can bind a source address but sets neither DSCP
 * nor interface: with those it rejects, saying so (no error code: reason `error`, as for tcp and
 * http without the addon). Rejects when bind or connect fails.
 */
export async function openDgramSocket(address: string, family: AddressFamily, port: number, handlers: ReflectorSocketHandlers, options: ProbeSocketOptions = {}): Promise<ReflectorSocket> {
  if (needsAddon(options)) throw new Error(`${describeSocketOptions(options)}: node:dgram sets neither DSCP nor interface; they need the native addon (agent/probes/native: npm run build:native)`);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    if (options.source !== undefined) {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: options.source, port: 0 }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    socket.close();
    throw err;
  }
  socket.on('message', (packet) => handlers.onMessage(packet, process.hrtime.bigint()));
  socket.on('error', (err) => handlers.onError(err));
  return {
    timestamps: 'event-loop',
    send: (packet) => {
      const sentNs = process.hrtime.bigint();
      socket.send(packet, (err) => {
        if (err) handlers.onError(err);
      });
      return sentNs;
    },
    close: () => socket.close(),
  };
}
