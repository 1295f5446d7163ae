/**
 * One ICMP or ICMPv6 socket, shared by all echoes of an address family. Both instants of an
 * echo are on the monotonic clock of process.hrtime.bigint():
 * - 'kernel': the send time is read just before sendto() and the receive time is the kernel's
 *   SO_TIMESTAMPNS of the reply (native/, a small N-API addon), so the RTT does not depend
 *   on how fast the event loop wakes up: what fping and ping measure.
 * - 'event-loop': raw-socket (socket-raw.ts) when the addon is not built; the receive time is
 *   taken when the event loop notices the reply, ~0.1 ms late on an idle VM and more when busy.
 *
 * `type` says what the kernel hands back:
 * - 'raw' (root or CAP_NET_RAW): every ICMP message of the family, IPv4 ones with their IP header,
 *   ICMP errors as packets like any other.
 * - 'ping' (SOCK_DGRAM, unprivileged where net.ipv4.ping_group_range allows the process's group):
 *   only the echo replies to this socket's `identifier` (the kernel writes it into every request),
 *   without an IP header; ICMP errors about our requests arrive through the IcmpErrorReceiver.
 */
export interface IcmpSocket {
  readonly type: IcmpSocketType;
  readonly timestamps: 'kernel' | 'event-loop';
  /** Ping sockets: the echo identifier the kernel puts in every request (the socket's port). */
  readonly identifier?: number;
  /** Sends one ICMP message; returns the monotonic time (ns) just before sendto(). Throws on a send error. */
  send(packet: Buffer, address: string): bigint;
  close(): void;
}

export type IcmpSocketType = 'raw' | 'ping';

/** `packet` is only valid during the call (a transport may reuse its receive buffer). */
export type IcmpReceiver = (packet: Buffer, source: string, receivedAt: bigint) => void;

/**
 * A ping socket's ICMP error about one of our requests: its type and code, the request's
 * destination, the request as the error quoted it (ICMP header first) and who sent the error.
 */
export type IcmpErrorReceiver = (type: number, code: number, destination: string, request: Buffer, offender: string) => void;

export interface IcmpReceivers {
  onPacket: IcmpReceiver;
  onError: IcmpErrorReceiver;
}

/**
 * 'auto': a raw socket where the process may open one, else a ping socket, both from the native
 * addon; raw-socket's raw socket when the addon is not built. The others force one way (tests, benches):
 * 'raw' and 'ping' the addon's sockets, 'raw-socket' the raw-socket package.
 */
export type IcmpTransport = 'auto' | IcmpSocketType | 'raw-socket';
