import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { WANTED_TYPES, type IpVersion } from './packet.js';
import type { IcmpReceiver, IcmpSocket } from './socket.js';

interface RawSocketWrap extends EventEmitter {
  send(buffer: Buffer, offset: number, length: number, address: string, sent: (bytes: number) => void): void;
}

interface RawSocket extends EventEmitter {
  wrap: RawSocketWrap;
  close(): void;
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  Protocol: { ICMP: number; ICMPv6: number };
  SocketLevel: { SOL_SOCKET: number };
  SocketOption: { SO_RCVBUF: number };
}

let rawSocketModule: RawSocketModule | undefined;
/**
 * Loaded lazily: it is a native addon, and only the ICMP prober needs it. An optional dependency:
 * without a C compiler at install time it is missing, and this says what to install.
 */
function rawSocket(): RawSocketModule {
  try {
    return (rawSocketModule ??= createRequire(import.meta.url)('raw-socket') as RawSocketModule);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error('no ICMP socket module: neither linkmon_native.node nor raw-socket is built (install python3, make and g++, then npm rebuild && npm run build)', { cause: err });
  }
}

// <linux/icmp.h> ICMP_FILTER on SOL_RAW, <netinet/icmp6.h> ICMP6_FILTER on IPPROTO_ICMPV6.
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const IPPROTO_ICMPV6 = 58;
const ICMP6_FILTER = 1;
/**
 * Replies to a burst of echoes queue up until the event loop reads them (one per loop turn), and a
 * raw socket's default 208 KiB buffer holds only ~100 full-size replies; the kernel caps this at
 * net.core.rmem_max.
 */
const RECEIVE_BUFFER_BYTES = 1 << 20;

/**
 * The fallback transport: a raw ICMP socket from raw-socket (the transport net-ping is built on),
 * used when the kernel-timestamp addon (native/) is not built. Send and receive instants are
 * stamped on the monotonic clock as close to the system calls as JavaScript gets:
 *
 * - send: raw-socket's own `send()` queues the packet, waits for a writable poll and only then calls
 *   sendto(), which costs an extra event-loop turn and two epoll_ctl calls per echo. A raw socket is
 *   practically always writable, so we call the native `wrap.send()` (a synchronous sendto) directly
 *   and stamp immediately before it, as fping and ping do.
 * - receive: stamped in a listener prepended to the native 'recvReady' event, i.e. before recvfrom()
 *   and before raw-socket slices and re-emits the packet. What remains is the kernel's wake-up of
 *   the event loop, which only a kernel timestamp (SO_TIMESTAMPNS via recvmsg) would remove, and
 *   raw-socket does not expose recvmsg.
 *
 * Throws synchronously when the socket cannot be created (EPERM without CAP_NET_RAW; raw-socket
 * gives only the strerror text, no code).
 */
export function openRawSocketIcmp(version: IpVersion, onPacket: IcmpReceiver): IcmpSocket {
  const raw = rawSocket();
  const socket = raw.createSocket(
    version === 4
      ? { protocol: raw.Protocol.ICMP, addressFamily: raw.AddressFamily.IPv4 }
      : { protocol: raw.Protocol.ICMPv6, addressFamily: raw.AddressFamily.IPv6 },
  );
  filterInKernel(socket, version);
  try {
    socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_RCVBUF, RECEIVE_BUFFER_BYTES);
  } catch {
    // keep the default size
  }

  let readyAt = 0n;
  socket.wrap.prependListener('recvReady', () => {
    readyAt = process.hrtime.bigint();
  });
  socket.on('message', (packet: Buffer, source: string) => onPacket(packet, source, readyAt));
  // A failed recvfrom (e.g. a spurious wake-up) is emitted as 'error'; unhandled it would crash the agent.
  // Lost replies show up as timeouts, which is the right account of them.
  socket.on('error', () => {});

  const noop = () => {};
  return {
    type: 'raw',
    timestamps: 'event-loop',
    send(packet, address) {
      const sentAt = process.hrtime.bigint();
      socket.wrap.send(packet, 0, packet.length, address, noop);
      return sentAt;
    },
    close() {
      socket.close();
    },
  };
}

/**
 * Every raw ICMP socket gets a copy of every ICMP message the host receives (other pings, our own
 * requests on loopback); a kernel filter keeps those from waking the agent. Best effort: matching
 * in JavaScript does not depend on it.
 */
function filterInKernel(socket: RawSocket, version: IpVersion): void {
  try {
    if (version === 4) {
      // A set bit drops that type (types 0-31 only).
      const pass = WANTED_TYPES[4].reduce((mask, type) => mask | (1 << type), 0);
      socket.setOption(SOL_RAW, ICMP_FILTER, ~pass >>> 0);
    } else {
      // struct icmp6_filter: 256 bits, a set bit blocks that type; uint32 words in host byte order.
      const words = new Uint32Array(8).fill(0xffffffff);
      for (const type of WANTED_TYPES[6]) words[type >> 5]! &= ~(1 << (type & 31)) >>> 0;
      const filter = Buffer.alloc(32);
      words.forEach((word, i) => (endianness() === 'LE' ? filter.writeUInt32LE(word, i * 4) : filter.writeUInt32BE(word, i * 4)));
      socket.setOption(IPPROTO_ICMPV6, ICMP6_FILTER, filter, filter.length);
    }
  } catch {
    // Older kernels or exotic platforms: the JavaScript side ignores unwanted messages anyway.
  }
}
