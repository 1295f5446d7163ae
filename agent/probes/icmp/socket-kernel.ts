import type { NativeAddon } from '../native/addon.js';
import type { IpVersion } from './packet.js';
import type { IcmpReceiver, IcmpSocket } from './socket.js';

/** Opens the socket with the native addon; throws (with `code`, e.g. EPERM) when it cannot be created. */
export function openKernelTimestampIcmp(addon: NativeAddon, version: IpVersion, onPacket: IcmpReceiver): IcmpSocket {
  const handle = addon.icmp.open(version, onPacket);
  return {
    timestamps: 'kernel',
    send: (packet, address) => addon.icmp.send(handle, packet, address),
    close: () => addon.icmp.close(handle),
  };
}
