import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { sourceKey } from '../lib/source-address.js';
import type { SummarizedLog } from '../lib/log-summary.js';
import type { ConnectionRejectionReason, ResponderMetrics } from './metrics.js';

export interface ConnectionGuardOptions {
  /** Open connections in all. */
  maxConnections: number;
  /** Open connections from one source address (an IPv6 /64). */
  maxPerSource: number;
  metrics: ResponderMetrics;
  rejections: SummarizedLog;
}

interface Connection {
  key: string;
  socket: Socket;
  source: string;
  /** Requests being served on it now; 0 = idle: headers not (yet) complete, or between keep-alive requests. */
  busy: number;
}

/** Replies Node itself would send for a parser error; linkmon sends them to count the error first. */
const CLIENT_ERROR_REPLIES: Record<string, { status: string; reason: ConnectionRejectionReason }> = {
  HPE_HEADER_OVERFLOW: { status: '431 Request Header Fields Too Large', reason: 'headers_too_large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: '413 Payload Too Large', reason: 'too_large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: '408 Request Timeout', reason: 'timeout' },
};

/**
 * Admission of HTTP(S) connections, so that no client can lock the others out:
 * - at most `maxPerSource` open connections per source address (the rest are closed at accept);
 * - at most `maxConnections` in all; when full, a new connection takes the place of the connection
 *   idle longest (headers not complete or between requests) — one that is serving a request is
 *   never evicted — and is refused only if every connection is busy;
 * - parser errors (400, 431, 413) and header deadlines (408) are answered as Node would, and
 *   counted; so are TLS handshake failures.
 * Every refusal is counted in linkmon_responder_rejections_total{endpoint="connection"}.
 */
export function guardConnections(server: HttpServer, options: ConnectionGuardOptions): void {
  const { metrics, rejections } = options;
  /** Idle connections first (longest idle first), as a Map keeps insertion order. */
  const idle = new Map<string, Connection>();
  const open = new Map<string, Connection>();
  const perSource = new Map<string, number>();
  const keyOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;

  const forget = (entry: Connection) => {
    if (open.get(entry.key) !== entry) return;
    open.delete(entry.key);
    idle.delete(entry.key);
    const left = (perSource.get(entry.source) ?? 1) - 1;
    if (left > 0) perSource.set(entry.source, left);
    else perSource.delete(entry.source);
  };

  const reject = (reason: ConnectionRejectionReason, remote: string | undefined) => {
    metrics.rejections.inc({ endpoint: 'connection', reason });
    rejections.record(reason, remote);
  };

  server.on('connection', (socket: Socket) => {
    const source = sourceKey(socket.remoteAddress);
    if ((perSource.get(source) ?? 0) >= options.maxPerSource) {
      reject('per_source_limit', socket.remoteAddress);
      socket.destroy();
      return;
    }
    if (open.size >= options.maxConnections) {
      const oldest = idle.values().next();
      if (oldest.done) {
        reject('connection_limit', socket.remoteAddress);
        socket.destroy();
        return;
      }
      reject('evicted', oldest.value.socket.remoteAddress);
      forget(oldest.value);
      oldest.value.socket.destroy();
    }
    const connection: Connection = { key: keyOf(socket), socket, source, busy: 0 };
    open.set(connection.key, connection);
    idle.set(connection.key, connection);
    perSource.set(source, (perSource.get(source) ?? 0) + 1);
    socket.once('close', () => forget(connection));
  });

  server.on('request', (req, res) => {
    const key = keyOf(req.socket);
    const connection = open.get(key);
    if (!connection) return;
    connection.busy += 1;
    idle.delete(key);
    res.once('close', () => {
      connection.busy -= 1;
      if (connection.busy === 0 && open.get(key) === connection) idle.set(key, connection);
    });
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A client that resets or disconnects mid-request is not an attack, only gone.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) return void socket.destroy();
    const reply = CLIENT_ERROR_REPLIES[err.code ?? ''] ?? { status: '400 Bad Request', reason: 'malformed' as const };
    reject(reply.reason, socket.remoteAddress);
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
    if (!inFlight?.headersSent) socket.write(`HTTP/1.1 ${reply.status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  });

  server.on('tlsClientError', (_err: Error, socket: Socket) => {
    reject('tls', socket.remoteAddress);
    socket.destroy();
  });
}
