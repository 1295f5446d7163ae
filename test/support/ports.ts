// Loopback ports for tests: servers bound to a free port (port 0), and ports nobody listens on.
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { listenOn } from '../../web/listen.js';

/** Binds `server` (HTTP, HTTPS or plain TCP) to a free port on 127.0.0.1; resolves to the port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return listenOn(server, '127.0.0.1', 0);
}

/** A TCP port on 127.0.0.1 that was free a moment ago: nothing listens there (another process may take it). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The same for UDP. */
export async function freeLoopbackUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
