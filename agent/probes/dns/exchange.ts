import { Socket } from 'node:net';
import type { AttemptDeadline } from '../deadline.js';
import type { AddressFamily } from '../resolver.js';
import { connectWithOptions, socketOptionsProblem, type ProbeSocketOptions } from '../socket-options.js';
import { openReflectorSocket } from '../udp/socket.js';

/**
 * One query, one response, over UDP or TCP (RFC 1035 §4.2), from the module's source address and
 * interface and with its DSCP (socket-options.ts). Each exchange has its own socket, closed when
 * the exchange ends or the attempt's deadline passes, whichever is first (the prober stops waiting
 * for the promise at the deadline). Socket errors reject with their code (a connected UDP socket
 * gets ECONNREFUSED from an ICMP port unreachable; a source address the host does not have is
 * EADDRNOTAVAIL).
 */

/** The first datagram that comes back from address:port (checking that it answers the query is the caller's job). */
export async function udpExchange(address: string, family: AddressFamily, port: number, query: Buffer, options: ProbeSocketOptions, deadline: AttemptDeadline): Promise<Buffer> {
  let answer!: { resolve: (packet: Buffer) => void; reject: (err: Error) => void };
  const answered = new Promise<Buffer>((resolve, reject) => (answer = { resolve, reject }));
  const socket = await openReflectorSocket(address, family, port, { onMessage: (packet) => answer.resolve(packet), onError: (err) => answer.reject(err) }, 'auto', options);
  let open = true;
  const close = () => {
    if (open) socket.close();
    open = false;
  };
  const removeAbort = deadline.whenAborted(close);
  try {
    socket.send(query);
    return await answered;
  } finally {
    removeAbort();
    close();
  }
}

/** The response (without its 2-byte length prefix), or 'closed' when the server closed the connection before sending all of it. */
export async function tcpExchange(address: string, family: AddressFamily, port: number, query: Buffer, options: ProbeSocketOptions, deadline: AttemptDeadline): Promise<Buffer | 'closed'> {
  const problem = socketOptionsProblem(options);
  // No code: a missing addon is reason `error` (as for tcp and http), not a network failure.
  if (problem) throw new Error(problem);
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
      socket.once('connect', () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(query.length, 0);
        socket.write(Buffer.concat([prefix, query]));
      });
      connectWithOptions(socket, address, family, port, options);
    });
  } finally {
    removeAbort();
    socket.destroy();
  }
}
