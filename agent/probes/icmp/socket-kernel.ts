import type { NativeAddon, NativeSocketOptions } from '../native/addon.js';
import type { IpVersion } from './packet.js';
import type { IcmpReceivers, IcmpSocket, IcmpSocketType } from './socket.js';

/** Opens the socket with the native addon; throws (with `code`, e.g. EPERM or EACCES) when it cannot be created. */
export function openKernelTimestampIcmp(addon: NativeAddon, version: IpVersion, type: IcmpSocketType, receivers: IcmpReceivers, options: NativeSocketOptions = {}): IcmpSocket {
  const handle = addon.icmp.open(version, type, (packet, source, receivedAt, queuedError) => {
    if (queuedError) receivers.onError(queuedError.type, queuedError.code, queuedError.destination, packet, source);
    else receivers.onPacket(packet, source, receivedAt);
  }, options);
  return {
    type,
    timestamps: 'kernel',
    ...(handle.identifier === undefined ? {} : { identifier: handle.identifier }),
    send: (packet, address) => addon.icmp.send(handle, packet, address),
    close: () => addon.icmp.close(handle),
  };
}
