import { createServer } from 'node:net';
import type { ResponderMetrics } from './metrics.js';
import { listenOn } from '../web/listen.js';

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
  const bound = await listenOn(server, address, port);
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
