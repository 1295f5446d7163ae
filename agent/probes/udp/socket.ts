import { createSocket } from 'node:dgram';

/**
 * The UDP socket of a STAMP session, connected to the reflector (its 4-tuple is the session).
 * Times are monotonic nanoseconds, the clock of process.hrtime.bigint().
 */
export interface ReflectorSocket {
  /** Sends one datagram; returns the time just before it went to the kernel. A send error goes to onError. */
  send(packet: Buffer): bigint;
  close(): void;
}

export interface ReflectorSocketHandlers {
  onMessage(packet: Buffer, receivedNs: bigint): void;
  /** Send and receive errors; on a connected socket an ICMP port-unreachable arrives as ECONNREFUSED. */
  onError(err: Error): void;
}

/**
 * A node:dgram socket. The receive time is taken when the event loop handles the datagram, so it
 * includes whatever kept the loop busy; a socket with kernel receive timestamps (issue #11's work
 * in agent/probes/native) can replace it behind this interface. Rejects when connect fails.
 */
export async function openDgramSocket(address: string, family: 4 | 6, port: number, handlers: ReflectorSocketHandlers): Promise<ReflectorSocket> {
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
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
