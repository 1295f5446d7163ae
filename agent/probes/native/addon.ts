import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { IpVersion } from '../icmp/packet.js';
import type { IcmpSocketType } from '../icmp/socket.js';

/** What the N-API addon (this folder's C sources, built by `npm run build:native`) exports. */
export interface NativeAddon {
  /** icmp_socket.c: a raw or ping ICMP socket whose replies carry the kernel's receive time. */
  icmp: {
    /** A ping socket's handle carries the echo identifier the kernel gave it. */
    open(family: IpVersion, type: IcmpSocketType, onMessage: IcmpMessageReceiver, options?: NativeSocketOptions): { identifier?: number };
    send(handle: object, packet: Buffer, address: string): bigint;
    close(handle: object): void;
  };
  /** ttl_probe.c: an unprivileged UDP socket for TTL-limited probes, ICMP errors read from its error queue. */
  ttlProbe: {
    open(family: IpVersion, onMessage: TtlProbeReceiver): object;
    send(handle: object, address: string, port: number, ttl: number, payload: Buffer): bigint;
    close(handle: object): void;
  };
  /** udp_socket.c: a connected UDP socket whose datagrams carry the kernel's receive time. */
  udp: {
    open(family: IpVersion, onEvent: UdpSocketReceiver, options?: NativeSocketOptions): object;
    connect(handle: object, address: string, port: number): void;
    send(handle: object, packet: Buffer): bigint;
    close(handle: object): void;
  };
  /** tcp_info.c: TCP_INFO of a socket (state 1 = established, 8 = close wait; the handshake RTT right after connect). */
  tcp: {
    info(fd: number): { state: number; rttMicros: number; totalRetrans: number };
  };
  /** socket_options.c: DSCP and interface on a socket Node created, before it sends (throws with `code`). */
  sockopt: {
    apply(fd: number, family: IpVersion, options: { dscp?: number; device?: string }): void;
  };
  /** memory.c: gives back memory the process holds but no longer uses. */
  memory: {
    /** malloc_trim(0): true when glibc returned free heap pages to the kernel. */
    trimMallocHeap(): boolean;
  };
}

/** A module's marking, interface and source address for the addon's own sockets (socket_options.h). */
export interface NativeSocketOptions {
  dscp?: number;
  device?: string;
  source?: string;
}

/** What a timestamped UDP socket hands back: a datagram and its kernel receive time, or a receive error's `code` (e.g. ECONNREFUSED). */
export type UdpSocketReceiver = (packet: Buffer | undefined, receivedNs: bigint, errorCode: string | undefined) => void;

/**
 * What an ICMP socket hands back: a packet as received, or (ping sockets) from the error queue the
 * request an ICMP error quoted, its sender and `queuedError`.
 */
export type IcmpMessageReceiver = (packet: Buffer, source: string, receivedNs: bigint, queuedError?: { type: number; code: number; destination: string }) => void;

/**
 * What a TTL probe socket hands back: an ICMP error quoting one of our probes (`payload`), sent by
 * router `from`; a local error of the kernel (`errno`); or a UDP reply from `from`.
 */
export type TtlProbeReceiver = (payload: Buffer, from: string, origin: 'icmp' | 'local' | 'reply', icmpType: number, icmpCode: number, receivedNs: bigint, errno: number) => void;

/**
 * Built by `node-gyp rebuild` in agent/probes/native; found from agent/probes/native (tsx), from the
 * bundle (`npm run build`: every file one folder below dist/, scripts/bundle.mjs) or from
 * dist/agent/probes/native (the benches' tsc output). The Dockerfile and the Debian package put it
 * where the bundle looks.
 */
const CANDIDATES = [
  './build/Release/linkmon_native.node',
  '../../agent/probes/native/build/Release/linkmon_native.node',
  '../../../../agent/probes/native/build/Release/linkmon_native.node',
];

let loaded: NativeAddon | null | undefined;

/** The addon, or undefined when it is not built (or does not load on this platform). */
export function nativeAddon(): NativeAddon | undefined {
  if (loaded === undefined) {
    loaded = null;
    for (const candidate of CANDIDATES) {
      const path = fileURLToPath(new URL(candidate, import.meta.url));
      if (!existsSync(path)) continue;
      try {
        loaded = createRequire(import.meta.url)(path) as NativeAddon;
        break;
      } catch {
        // built for another Node ABI or platform: callers fall back
      }
    }
  }
  return loaded ?? undefined;
}
