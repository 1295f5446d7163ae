import type { Server } from 'node:net';

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
