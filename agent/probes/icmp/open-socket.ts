import type { IpVersion } from './packet.js';
import type { IcmpReceiver, IcmpSocket, IcmpTransport } from './socket.js';
import { nativeAddon } from '../native/addon.js';
import { openKernelTimestampIcmp } from './socket-kernel.js';
import { openRawSocketIcmp } from './socket-raw.js';

/**
 * Opens the socket of `version`. Throws synchronously when it cannot be created (EPERM without
 * CAP_NET_RAW) or when 'kernel-timestamps' is asked for and the addon is not built.
 */
export function openIcmpSocket(version: IpVersion, onPacket: IcmpReceiver, transport: IcmpTransport = 'auto'): IcmpSocket {
  if (transport === 'raw-socket') return openRawSocketIcmp(version, onPacket);
  const addon = nativeAddon();
  if (addon) return openKernelTimestampIcmp(addon, version, onPacket);
  if (transport === 'kernel-timestamps') throw new Error('the kernel-timestamp ICMP addon is not built (agent/probes/native: npm run build:native)');
  return openRawSocketIcmp(version, onPacket);
}
