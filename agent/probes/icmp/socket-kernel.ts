import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { IpVersion } from './packet.js';
import type { IcmpReceiver, IcmpSocket } from './socket.js';

/** The N-API addon in native/icmp_socket.c. */
export interface KernelTimestampAddon {
  open(family: IpVersion, onPacket: IcmpReceiver): object;
  send(handle: object, packet: Buffer, address: string): bigint;
  close(handle: object): void;
}

/** Built by `node-gyp rebuild` in agent/probes/icmp/native; found from agent/probes/icmp (tsx) or dist/agent/probes/icmp (build). */
const CANDIDATES = ['./native/build/Release/icmp_socket.node', '../../../../agent/probes/icmp/native/build/Release/icmp_socket.node'];

let loaded: KernelTimestampAddon | null | undefined;

/** The addon, or undefined when it is not built (or does not load on this platform). */
export function kernelTimestampAddon(): KernelTimestampAddon | undefined {
  if (loaded === undefined) {
    loaded = null;
    for (const candidate of CANDIDATES) {
      const path = fileURLToPath(new URL(candidate, import.meta.url));
      if (!existsSync(path)) continue;
      try {
        loaded = createRequire(import.meta.url)(path) as KernelTimestampAddon;
        break;
      } catch {
        // built for another Node ABI or platform: fall back to raw-socket
      }
    }
  }
  return loaded ?? undefined;
}

/** Opens the socket; throws (with `code`, e.g. EPERM) when it cannot be created. */
export function openKernelTimestampIcmp(addon: KernelTimestampAddon, version: IpVersion, onPacket: IcmpReceiver): IcmpSocket {
  const handle = addon.open(version, onPacket);
  return {
    timestamps: 'kernel',
    send: (packet, address) => addon.send(handle, packet, address),
    close: () => addon.close(handle),
  };
}
