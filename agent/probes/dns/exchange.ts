import { createSocket } from 'node:dgram';
import { isIPv6, Socket } from 'node:net';
import type { AttemptDeadline } from '../deadline.js';

/**
 * One query, one response, over UDP or TCP (RFC 1035 §4.2). Each exchange has its own socket,
 * closed when the exchange ends or the attempt's deadline passes, whichever is first (the prober
 * stops waiting for the promise at the deadline). Socket errors reject with their code (a
 * connected UDP socket gets ECONNREFUSED from an ICMP port unreachable).
 */

/** The first datagram that comes back from address:port (checking that it answers the query is the caller's job). */
export async function udpExchange(address: string, port: number, query: Buffer, deadline: AttemptDeadline): Promise<Buffer> {
  const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  let open = true;
  const close = () => {
    if (open) socket.close();
    open = false;
  };
  const removeAbort = deadline.whenAborted(close);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('message', (message: Buffer) => resolve(message));
      socket.connect(port, address, () => socket.send(query, (err) => err && reject(err)));
    });
  } finally {
    removeAbort();
    close();
  }
}

/** The response (without its 2-byte length prefix), or 'closed' when the server closed the connection before sending all of it. */
export async function tcpExchange(address: string, port: number, query: Buffer, deadline: AttemptDeadline): Promise<Buffer | 'closed'> {
  const socket = new Socket();
  const removeAbort = deadline.whenAborted(() => socket.destroy());
  try {
    return await new Promise<Buffer | 'closed'>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received < 2) return;
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const length = all.readUInt16BE(0);
        if (all.length >= 2 + length) resolve(all.subarray(2, 2 + length));
      });
      socket.once('end', () => resolve('closed'));
      socket.connect({ host: address, port }, () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(query.length, 0);
        socket.write(Buffer.concat([prefix, query]));
      });
    });
  } finally {
    removeAbort();
    socket.destroy();
  }
}
