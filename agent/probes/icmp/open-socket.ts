import { describeError } from '../../../lib/error-code.js';
import type { IpVersion } from './packet.js';
import type { IcmpReceivers, IcmpSocket, IcmpTransport } from './socket.js';
import { nativeAddon, type NativeSocketOptions } from '../native/addon.js';

import { openKernelTimestampIcmp } from './socket-kernel.js';
import { openRawSocketIcmp } from './socket-raw.js';

/**
 * Opens the socket of `version` (see IcmpTransport for which). Throws synchronously when none can
 * be created; with 'auto', the error names what each kind of socket answered (e.g. EPERM for the
 * raw socket without CAP_NET_RAW, EACCES for the ping socket outside net.ipv4.ping_group_range).
 */
export function openIcmpSocket(version: IpVersion, receivers: IcmpReceivers, transport: IcmpTransport = 'auto', options: NativeSocketOptions = {}): IcmpSocket {
  const withOptions = options.source !== undefined || options.device !== undefined || options.dscp !== undefined;
  if (withOptions && (transport === 'raw-socket' || !nativeAddon())) {
    throw new Error('a source address, interface or DSCP for ICMP needs the native addon (agent/probes/native: npm run build:native)');
  }
  if (transport === 'raw-socket') return openRawSocketIcmp(version, receivers.onPacket);
  const addon = nativeAddon();
  if (!addon) {
    if (transport !== 'auto') throw new Error(`no ${transport} socket: the native addon is not built (agent/probes/native: npm run build:native)`);
    try {
      return openRawSocketIcmp(version, receivers.onPacket);
    } catch (err) {
      throw new Error(`raw socket: ${describeError(err)}; ping socket: not available without the native addon (agent/probes/native: npm run build:native)`);
    }
  }
  if (transport !== 'auto') return openKernelTimestampIcmp(addon, version, transport, receivers, options);
  try {
    return openKernelTimestampIcmp(addon, version, 'raw', receivers, options);
  } catch (rawError) {
    try {
      return openKernelTimestampIcmp(addon, version, 'ping', receivers, options);
    } catch (pingError) {
      throw new Error(`raw socket: ${describeError(rawError)}; ping socket: ${describeError(pingError)}`);
    }
  }
}
