import { createServer } from 'node:net';
import type { ResponderMetrics } from './metrics.js';

export interface RunningTcpListener {
  port: number;
  close(): Promise<void>;
}

/** Accepts connections for TCP connect probes and closes them at once: no banner, nothing read. */
export async function startTcpListener(address: string, port: number, metrics: ResponderMetrics): Promise<RunningTcpListener> {
  const server = createServer((socket) => {
    metrics.tcpConnections.inc();
    socket.on('error', () => {});
    socket.end();
  });
  server.maxConnections = 1024;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
