import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { nativeAddon, type NativeSocketOptions } from './native/addon.js';
import { errorCode } from './reasons.js';
import type { NetworkSettings } from '../config/network-fields.js';

/** A module's source address, interface and DSCP (config: source_ip_address, source_interface, dscp). */
export type ProbeSocketOptions = NativeSocketOptions;

/** The socket options a module's network settings ask for (config/network-fields.ts). */
export function socketOptionsOf(module: NetworkSettings): ProbeSocketOptions {
  return {
    ...(module.source_ip_address === undefined ? {} : { source: module.source_ip_address }),
    ...(module.source_interface === undefined ? {} : { device: module.source_interface }),
    ...(module.dscp === undefined ? {} : { dscp: module.dscp }),
  };
}

/** Whether any option needs the native addon (Node itself can only bind a source address). */
export function needsAddon(options: ProbeSocketOptions): boolean {
  return options.dscp !== undefined || options.device !== undefined;
}

interface TcpHandle {
  fd: number;
  connect(...args: unknown[]): number;
  connect6(...args: unknown[]): number;
}

/**
 * Options for a TCP socket created by node:net, before its SYN: node:net sets neither IP_TOS nor
 * SO_BINDTODEVICE. Call right after socket.connect(options) with an IP address as host (Node then
 * connects on the next tick) and with `connectOptions()`'s localAddress among its options: Node
 * binds the socket to it just before connecting, in the same tick, so the kernel socket exists when
 * the handle's connect() runs, and the options are set in a wrapper of that call, between bind() and
 * the SYN. A failure (ENODEV: no such interface) becomes the connect error, with its code.
 */
export function applyBeforeTcpConnect(socket: Socket, family: 4 | 6, options: ProbeSocketOptions): void {
  if (!needsAddon(options)) return;
  const handle = (socket as unknown as { _handle?: TcpHandle })._handle;
  const addon = nativeAddon();
  if (!handle) return;
  for (const method of ['connect', 'connect6'] as const) {
    const connect = handle[method];
    handle[method] = function (this: TcpHandle, ...args: unknown[]): number {
      if (!addon) return -constants.errno.ENOTSUP;
      try {
        addon.sockopt.apply(this.fd, family, { dscp: options.dscp, device: options.device });
      } catch (err) {
        return -(constants.errno[errorCode(err) as keyof typeof constants.errno] ?? constants.errno.EINVAL);
      }
      return connect.apply(this, args);
    };
  }
}

/** localAddress for socket.connect(): the source, or any address when only the addon's options are set (so Node binds first). */
export function connectOptions(family: 4 | 6, options: ProbeSocketOptions): { localAddress?: string } {
  if (options.source !== undefined) return { localAddress: options.source };
  if (needsAddon(options)) return { localAddress: family === 6 ? '::' : '0.0.0.0' };
  return {};
}
