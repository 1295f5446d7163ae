// The Node floor of receiving a throughput test: the responder's /download read by a bare TCP socket
// into one reused buffer (net.Socket's `onread`), counting bytes and nothing else: no HTTP parser, no
// stream objects, no undici. What any Node process pays per received byte, next to the agent's figure.
// Usage (inside the site namespace): node dist/bench/lib/download-floor.js '{"host":…,"port":…,"token":…,"seconds":5}'
// Prints one JSON line: { bytes, cpuSeconds } over the whole download.
import { connect } from 'node:net';

const { host, port, token, seconds } = JSON.parse(process.argv[2] ?? '{}') as { host: string; port: number; token: string; seconds: number };
const cpuBefore = process.cpuUsage();
let bytes = 0;
await new Promise<void>((resolve, reject) => {
  const socket = connect({ host, port, onread: { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n) => {
    bytes += n;
    return true;
  } } });
  socket.once('connect', () => socket.write(`GET /download?seconds=${seconds} HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`));
  socket.once('end', () => resolve());
  socket.once('error', reject);
});
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(`${JSON.stringify({ bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
