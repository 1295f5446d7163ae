import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnProcessExit } from './exit-cleanup.js';

/**
 * Makes a TCP port inside a network namespace reachable from the test process on host loopback.
 * Node cannot setns(), so a tiny forwarder runs inside the namespace (`ip netns exec`, needs root)
 * and listens on a filesystem unix socket (those are shared across namespaces); the test process
 * listens on 127.0.0.1:<free port> and pipes each connection to that unix socket.
 */
export interface NetnsBridge {
  /** Host-side address, e.g. `127.0.0.1:41234`. */
  hostPort: string;
  close: () => Promise<void>;
}

const FORWARDER = `
const net = require('node:net');
const [sockPath, host, port] = process.argv.slice(1);
net.createServer((c) => {
  const up = net.connect(Number(port), host);
  c.pipe(up).pipe(c);
  const end = () => { c.destroy(); up.destroy(); };
  c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
}).listen(sockPath);
process.on('SIGTERM', () => process.exit(0));
`;

export async function bridgeIntoNetns(netns: string, port: number, host = '127.0.0.1'): Promise<NetnsBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-bridge-'));
  const sockPath = join(dir, 'fwd.sock');
  const forwarder: ChildProcess = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', FORWARDER, sockPath, host, String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  forwarder.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  killOnProcessExit(forwarder);

  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const close = async () => {
    for (const s of sockets) s.destroy();
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    if (forwarder.exitCode === null && forwarder.signalCode === null) {
      const exited = new Promise((r) => forwarder.once('exit', r));
      forwarder.kill('SIGTERM');
      const timer = setTimeout(() => forwarder.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(sockPath)) {
      if (forwarder.exitCode !== null) throw new Error(`netns bridge into ${netns} exited: ${stderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`netns bridge into ${netns} did not start within 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    server = createServer((client) => {
      const upstream = createConnection(sockPath);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      for (const s of [client, upstream]) {
        s.on('error', end);
        s.on('close', end);
      }
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(0, '127.0.0.1', () => resolve());
    });
    const address = listening.address();
    if (!address || typeof address === 'string') throw new Error('bridge server has no TCP address');
    return { hostPort: `127.0.0.1:${address.port}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}
