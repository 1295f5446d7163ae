import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { TlsSettings } from './config-load.js';
import type { WebConfigSource } from './config-source.js';

/** A client must start its TLS handshake (and finish it) within this time. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
const REFUSAL_CLOSE_MS = 1000;
const TLS_HANDSHAKE_RECORD = 0x16;
// What Go's net/http answers, so clients and people see the same thing as with any exporter.
const PLAIN_HTTP_REFUSAL = 'HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

export interface TlsServerParts {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  source: WebConfigSource | undefined;
  track: (socket: Socket) => void;
  log: Logger;
}

/**
 * An https.Server whose connection handling is wrapped twice: before the TLS layer sees a new
 * connection, the web config is refreshed (new certificates, CA, policy) and the first byte is
 * checked, so plain HTTP gets a clear 400 instead of a reset; after the handshake, the client
 * certificate policies OpenSSL does not enforce by itself are checked before HTTP sees the socket.
 */
export function createTlsServer(initial: TlsSettings, parts: TlsServerParts): HttpsServer {
  const { log } = parts;
  const server = createHttpsServer(
    { ...initial.secureContext, ...clientCertOptions(initial), handshakeTimeout: FIRST_BYTE_TIMEOUT_MS, headersTimeout: parts.headersTimeout, requestTimeout: parts.requestTimeout, keepAliveTimeout: parts.keepAliveTimeout },
    parts.onRequest,
  );
  const perConnection = server as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
  if (typeof perConnection.requestCert !== 'boolean' || typeof perConnection.rejectUnauthorized !== 'boolean') {
    throw new Error('bug: this Node.js version no longer reads requestCert/rejectUnauthorized from the TLS server per connection');
  }
  let policy = initial;
  parts.source?.onReload((config) => {
    if (!config.tls) return;
    server.setSecureContext(config.tls.secureContext);
    Object.assign(perConnection, clientCertOptions(config.tls));
    policy = config.tls;
  });

  const tlsConnectionListener = onlyListener(server, 'connection');
  server.on('connection', (socket: Socket) => {
    parts.track(socket);
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
    const onError = () => socket.destroy();
    socket.on('error', onError);
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] !== TLS_HANDSHAKE_RECORD) {
        clearTimeout(timer);
        refuseNonTls(socket, chunk, log);
        return;
      }
      void (parts.source?.get() ?? Promise.resolve()).then(() => {
        clearTimeout(timer);
        socket.off('error', onError);
        // The TLS socket takes over the bytes already read (Node feeds a wrapped socket's buffer to it).
        if (!socket.destroyed) tlsConnectionListener.call(server, socket);
      });
    });
  });

  const httpConnectionListener = onlyListener(server, 'secureConnection');
  server.on('secureConnection', (socket: TLSSocket) => {
    const problem = clientCertProblem(policy, socket);
    if (problem) {
      log.warn({ remote: socket.remoteAddress, problem }, 'TLS client rejected');
      socket.destroy();
      return;
    }
    httpConnectionListener.call(server, socket);
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    log.debug({ remote: socket.remoteAddress, code: err.code }, 'TLS handshake failed');
    socket.destroy();
  });
  return server;
}

/** Takes over the single listener Node registered for `event`, to call it after our own checks. */
function onlyListener(server: HttpsServer, event: 'connection' | 'secureConnection'): (...args: unknown[]) => void {
  const listeners = server.listeners(event);
  if (listeners.length !== 1) throw new Error(`bug: expected Node's https.Server to have exactly one "${event}" listener, found ${listeners.length}`);
  const listener = listeners[0] as (...args: unknown[]) => void;
  server.removeListener(event, listener);
  return listener;
}

function refuseNonTls(socket: Socket, firstChunk: Buffer, log: Logger): void {
  log.debug({ remote: socket.remoteAddress }, 'refused a plain (non-TLS) connection on the HTTPS port');
  socket.resume();
  // An HTTP request line starts with a method in capitals; anything else just gets closed.
  if (/^[A-Z]+ /.test(firstChunk.subarray(0, 16).toString('latin1'))) {
    socket.end(PLAIN_HTTP_REFUSAL);
    setTimeout(() => socket.destroy(), REFUSAL_CLOSE_MS).unref();
  } else {
    socket.destroy();
  }
}

/**
 * Node's own checks cover RequireAndVerifyClientCert (OpenSSL demands a certificate, Node drops an
 * untrusted one). The toolkit's other policies ask for a certificate without requiring or trusting
 * it, so they are enforced here, once the handshake is done.
 */
function clientCertOptions(tls: TlsSettings): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: tls.clientAuth !== 'NoClientCert', rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert' };
}

export function clientCertProblem(tls: TlsSettings, socket: Pick<TLSSocket, 'getPeerX509Certificate' | 'authorized' | 'authorizationError'>): string | undefined {
  if (tls.clientAuth === 'NoClientCert' || tls.clientAuth === 'RequestClientCert') return undefined;
  const cert = socket.getPeerX509Certificate();
  if (!cert && tls.clientAuth !== 'VerifyClientCertIfGiven') return 'no client certificate';
  const mustVerify = tls.clientAuth === 'RequireAndVerifyClientCert' || (tls.clientAuth === 'VerifyClientCertIfGiven' && cert !== undefined);
  if (mustVerify && !socket.authorized) return `client certificate not trusted (${String(socket.authorizationError ?? 'unknown')})`;
  if (tls.allowedSans && cert) {
    const sans = subjectAltNames(cert.subjectAltName);
    if (!sans.some((san) => tls.allowedSans!.includes(san))) return 'client certificate has none of client_allowed_sans';
  }
  return undefined;
}

/** `DNS:a, IP Address:127.0.0.1, email:x@y, URI:spiffe://…` → values (Node quotes values containing a comma as JSON). */
export function subjectAltNames(text: string | undefined): string[] {
  if (!text) return [];
  const parts = text.match(/(?:DNS|IP Address|email|URI):(?:"(?:[^"\\]|\\.)*"|[^,]*)/g) ?? [];
  return parts.map((part) => {
    const value = part.slice(part.indexOf(':') + 1);
    return value.startsWith('"') ? (JSON.parse(value) as string) : value;
  });
}
