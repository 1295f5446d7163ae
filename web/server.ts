import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { createWebGate, NO_WEB_CONFIG, type Handler } from './gate.js';
import type { WebConfig } from './config-load.js';
import { WebConfigSource } from './config-source.js';
import { createTlsServer } from './tls.js';
import { listenOn } from './listen.js';

export { createWebGate, openWebGate, type WebGate } from './gate.js';
export { loadWebConfig, type WebConfig } from './config-load.js';
export { clientCertProblem, subjectAltNames } from './tls.js';

export interface WebServerOptions {
  listen: { address: string; port: number };
  /** Prometheus exporter-toolkit web config (TLS, mTLS, basic auth); plain HTTP without one. */
  webConfigFile?: string;
  handler: Handler;
  log: Logger;
}

export interface WebServer {
  /** Base URL for local clients, e.g. `https://127.0.0.1:9470` (0.0.0.0 becomes 127.0.0.1). */
  url: string;
  /** The bound port (a free one when 0 was asked for). */
  port: number;
  tls: boolean;
  close(): Promise<void>;
}

const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 60_000;
// Longer than Prometheus's scrape interval, so its keep-alive connections are reused between scrapes.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const CLOSE_GRACE_MS = 1000;

/**
 * Serves `handler` over plain HTTP, or as the web config file says: HTTPS (optionally requiring
 * client certificates), basic auth with bcrypt hashes, extra headers, a rate limit. Changes to the
 * file and to the certificates it names apply to the next connection or request, without restart;
 * turning TLS on or off needs a restart, as with the toolkit.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { log } = options;
  const source = options.webConfigFile ? await WebConfigSource.open(options.webConfigFile, { log, check: sameTransport }) : undefined;
  const initial = source?.config ?? NO_WEB_CONFIG;
  const gate = createWebGate({ log, ...(source ? { source } : {}) });
  const onRequest = gate.wrap(options.handler);

  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const serverOptions = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS };
  let server: HttpServer | HttpsServer;
  if (initial.tls) {
    server = createTlsServer(initial.tls, { ...serverOptions, onRequest, source, track, log });
  } else {
    server = createHttpServer(serverOptions, onRequest);
    server.on('connection', track);
  }

  const port = await listenOn(server, options.listen.address, options.listen.port).catch(async (err: unknown) => {
    await gate.close();
    throw err;
  });
  server.on('error', (err) => log.error({ err }, 'web server error'));
  const scheme = initial.tls ? 'https' : 'http';
  const address = options.listen.address;
  const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  log.info(
    { address, port, tls: initial.tls !== undefined, client_auth: initial.tls?.clientAuth, basic_auth_users: initial.users.size, web_config: options.webConfigFile },
    initial.tls ? 'serving HTTPS' : 'serving HTTP',
  );

  let closing: Promise<void> | undefined;
  return {
    url: `${scheme}://${host}:${port}`,
    port,
    tls: initial.tls !== undefined,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, CLOSE_GRACE_MS);
        await closed;
        clearTimeout(force);
        await gate.close();
      })()),
  };
}

function sameTransport(next: WebConfig, current: WebConfig): string | undefined {
  if (current.tls && !next.tls) return 'tls_server_config: removing TLS needs a restart; still serving HTTPS with the previous settings';
  if (!current.tls && next.tls) return 'tls_server_config: turning TLS on needs a restart; still serving plain HTTP';
  return undefined;
}

