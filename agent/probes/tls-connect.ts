import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { describeError } from '../../lib/error-code.js';
import type { AttemptDeadline } from './deadline.js';
import { reasonFromError } from './reasons.js';
import { failure, type ProbeFailure } from './types.js';

/** A module's TLS client settings (tls.ca_file read, tls.server_name, !tls.insecure_skip_verify). */
export interface TlsClientSettings {
  ca?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

export interface Secured {
  socket: TLSSocket;
  /** Unix seconds at which the server's leaf certificate expires. */
  certExpirySeconds?: number;
}

/**
 * TLS (HTTP/1.1 by ALPN) over a connected socket, within the deadline: a server that never
 * answers the ClientHello is a timeout. SNI is tls.servername, else `hostname` unless it is an IP
 * address.
 */
export function secureWithin(socket: Socket, hostname: string, tls: TlsClientSettings, deadline: AttemptDeadline): Promise<Secured | ProbeFailure> {
  return new Promise((resolve) => {
    const secure = tlsConnect({
      socket,
      servername: tls.servername ?? (isIpLiteral(hostname) ? undefined : hostname),
      ca: tls.ca,
      rejectUnauthorized: tls.rejectUnauthorized,
      ALPNProtocols: ['http/1.1'],
    });
    const finish = (result: Secured | ProbeFailure) => {
      removeAbort();
      secure.removeListener('error', onError);
      if ('reason' in result) secure.destroy();
      resolve(result);
    };
    const onError = (err: Error) => finish(failure(reasonFromError(err), `TLS handshake: ${describeError(err)}`));
    const removeAbort = deadline.whenAborted(() => finish(failure('timeout', deadline.expired ? `TLS handshake not complete within ${deadline.timeoutSeconds}s` : 'stopped')));
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      const validTo = secure.getPeerCertificate().valid_to;
      finish({ socket: secure, ...(validTo ? { certExpirySeconds: Date.parse(validTo) / 1000 } : {}) });
    });
  });
}

const isIpLiteral = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');
