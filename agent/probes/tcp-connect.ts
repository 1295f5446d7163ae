import { isIP, Socket } from 'node:net';
import { describeError } from '../../lib/error-code.js';
import type { AttemptDeadline } from './deadline.js';
import { nativeAddon } from './native/addon.js';
import { reasonFromError } from './reasons.js';
import { connectWithOptions, socketOptionsProblem, type ProbeSocketOptions } from './socket-options.js';
import { failure, type ProbeFailure } from './types.js';

export interface Connected {
  socket: Socket;
  /** SYN to SYN-ACK as the kernel measured it, or the wall clock when it could not (see kernelConnectSeconds). */
  connectSeconds: number;
  /** Where connectSeconds came from. */
  clock: 'kernel' | 'event-loop';
}

/**
 * Kernel TCP states (tcp_states.h) in which the handshake is complete and we have sent nothing:
 * ESTABLISHED, or CLOSE_WAIT when the peer closed at once (the responder's TCP listener does) and
 * the event loop only got to the 'connect' event afterwards.
 */
const HANDSHAKE_DONE = new Set([1, 8]);

/**
 * Opens a TCP connection to `address:port` (an IP address) within the deadline, from the module's
 * source address and interface and with its DSCP on every packet, the SYN included
 * (socket-options.ts). On expiry (or the caller stopping) the socket is destroyed at once, so no
 * attempt leaves a socket in SYN-SENT behind it. `what` names the target in failure details.
 */
export function connectWithin(address: string, port: number, deadline: AttemptDeadline, what: string, options: ProbeSocketOptions = {}): Promise<Connected | ProbeFailure> {
  if (deadline.signal.aborted) return Promise.resolve(failure('timeout', `connect ${what}: stopped`));
  const problem = socketOptionsProblem(options);
  if (problem) return Promise.resolve(failure('error', `connect ${what}: ${problem}`));
  return new Promise((resolve) => {
    const socket = new Socket();
    const started = process.hrtime.bigint();
    const finish = (result: Connected | ProbeFailure) => {
      removeAbort();
      socket.removeListener('error', onError);
      socket.removeListener('connect', onConnect);
      if (!('socket' in result)) socket.destroy();
      resolve(result);
    };
    const onConnect = () => finish(measured(socket, started));
    const onError = (err: Error) => finish(failure(reasonFromError(err), `connect ${what}: ${describeError(err)}`));
    const removeAbort = deadline.whenAborted(() => {
      // Timers run before I/O in a loop turn: after a long stall the connection may be up in the
      // kernel while its 'connect' event still waits behind this timer. The kernel decides.
      const kernel = deadline.expired ? kernelConnectSeconds(socket) : undefined;
      if (kernel !== undefined && kernel <= deadline.timeoutSeconds) return finish({ socket, connectSeconds: kernel, clock: 'kernel' });
      finish(failure('timeout', deadline.expired ? `no connection to ${what} within ${deadline.timeoutSeconds}s` : `connect ${what}: stopped`));
    });
    socket.once('connect', onConnect);
    socket.once('error', onError);
    connectWithOptions(socket, address, isIP(address) === 6 ? 6 : 4, port, options);
  });
}

function measured(socket: Socket, started: bigint): Connected {
  const kernel = kernelConnectSeconds(socket);
  if (kernel !== undefined) return { socket, connectSeconds: kernel, clock: 'kernel' };
  return { socket, connectSeconds: Number(process.hrtime.bigint() - started) / 1e9, clock: 'event-loop' };
}

/**
 * The handshake's round-trip time from TCP_INFO (tcp_info.c), read before anything is sent on the
 * socket, so the kernel's only RTT sample is the SYN's. Undefined when the handshake is not
 * complete, the SYN was retransmitted (the sample then belongs to the last exchange, and the
 * connect time is the retransmission timeout's, seconds, which the wall clock measures well
 * enough), or the addon is not built.
 */
export function kernelConnectSeconds(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const addon = nativeAddon();
  if (!addon || typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const info = addon.tcp.info(fd);
    if (!HANDSHAKE_DONE.has(info.state) || info.totalRetrans > 0 || info.rttMicros <= 0) return undefined;
    return info.rttMicros / 1e6;
  } catch {
    return undefined;
  }
}
