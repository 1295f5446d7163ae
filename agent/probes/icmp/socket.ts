/**
 * One raw ICMP or ICMPv6 socket, shared by all echoes of an address family. Both instants of an
 * echo are on the monotonic clock of process.hrtime.bigint():
 * - 'kernel': the send time is read just before sendto() and the receive time is the kernel's
 *   SO_TIMESTAMPNS of the reply (native/, a small N-API addon), so the RTT does not depend
 *   on how fast the event loop wakes up: what fping and ping measure.
 * - 'event-loop': raw-socket (socket-raw.ts) when the addon is not built; the receive time is
 *   taken when the event loop notices the reply, ~0.1 ms late on an idle VM and more when busy.
 */
export interface IcmpSocket {
  readonly timestamps: 'kernel' | 'event-loop';
  /** Sends one ICMP message; returns the monotonic time (ns) just before sendto(). Throws on a send error. */
  send(packet: Buffer, address: string): bigint;
  close(): void;
}

/** `packet` is only valid during the call (a transport may reuse its receive buffer). */
export type IcmpReceiver = (packet: Buffer, source: string, receivedAt: bigint) => void;

/** 'auto' takes kernel timestamps when the addon is built, raw-socket otherwise. */
export type IcmpTransport = 'auto' | 'kernel-timestamps' | 'raw-socket';
