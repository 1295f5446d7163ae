import { isIP, type Server } from 'node:net';
import { z } from 'zod';

/**
 * The address a server binds: an IP address, checked when the config is validated or reloaded,
 * not when the next start fails. No host names: binding must not depend on DNS at boot.
 */
export const listenAddress = z
  .string()
  .refine((address) => isIP(address) !== 0, { error: (issue) => `expected an IP address to listen on, such as 0.0.0.0, :: or 127.0.0.1, got ${JSON.stringify(issue.input)}` });

/** Binds a TCP (HTTP, HTTPS or plain) server; resolves to the bound port (port 0 picks a free one). */
export async function listenOn(server: Server, address: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  return typeof bound === 'object' && bound ? bound.port : port;
}
