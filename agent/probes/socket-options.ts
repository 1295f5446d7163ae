import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { errorCode } from '../../lib/error-code.js';
import type { NetworkSettings } from '../config/network-fields.js';
import { nativeAddon, type NativeSocketOptions } from './native/addon.js';

import type { AddressFamily } from './resolver.js';

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

/** Whether any option is set (a socket of its own rather than a shared or default one). */
export function hasSocketOptions(options: ProbeSocketOptions): boolean {
  return options.source !== undefined || options.device !== undefined || options.dscp !== undefined;
}

/** Whether any option needs the native addon (Node itself can only bind a source address). */
export function needsAddon(options: ProbeSocketOptions): boolean {
  return options.dscp !== undefined || options.device !== undefined;
}

/** For failure details: "source 198.18.1.3, interface wan, DSCP 46". */
export function describeSocketOptions(options: ProbeSocketOptions): string {
  const parts = [options.source && `source ${options.source}`, options.device && `interface ${options.device}`, options.dscp !== undefined && `DSCP ${options.dscp}`];
  return parts.filter(Boolean).join(', ');
}

/**
 * Why these options cannot be set here, or undefined: DSCP and interface go through the native
 * addon (node:net and node:dgram set neither IP_TOS nor SO_BINDTODEVICE).
 */
export function socketOptionsProblem(options: ProbeSocketOptions): string | undefined {
  if (!needsAddon(options) || nativeAddon()) return undefined;
  return `${describeSocketOptions(options)}: an interface or DSCP needs the native addon (agent/probes/native: npm run build:native)`;
}

interface TcpHandle {
  fd: number;
  connect(...args: unknown[]): number;
  connect6(...args: unknown[]): number;
}

/**
 * Starts connecting node:net `socket` to `address:port` (an IP address of `family`) with the
 * options set before the SYN: node:net binds a socket to its localAddress just before connecting,
 * in the same tick, so with a localAddress (the source, or the any address when only the addon's
 * options are set) the kernel socket exists when the handle's connect() runs, and a wrapper of that
 * call sets DSCP and interface between bind() and the SYN. A failure arrives as the socket's
 * 'error' with its code: EADDRNOTAVAIL for a source address the host does not have (bind), ENODEV
 * for an interface it does not have, ENOTSUP without the addon (check socketOptionsProblem first).
 */
export function connectWithOptions(socket: Socket, address: string, family: AddressFamily, port: number, options: ProbeSocketOptions): void {
  const localAddress = options.source ?? (needsAddon(options) ? (family === 6 ? '::' : '0.0.0.0') : undefined);
  socket.connect({ host: address, port, ...(localAddress === undefined ? {} : { localAddress }) });
  if (!needsAddon(options)) return;
  // With an IP address as host, node:net creates the handle now and connects on the next tick.
  const handle = (socket as unknown as { _handle?: TcpHandle })._handle;
  if (!handle) return;
  const addon = nativeAddon();
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
