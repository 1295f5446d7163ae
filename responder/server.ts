import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ResponderConfig } from './config.js';
import { listenOn } from '../web/listen.js';
import { createHttpHandler } from './http.js';
import { ResponderMetrics } from './metrics.js';
import { TestSlots } from './slots.js';
import { startTcpListener } from './tcp.js';
import { BearerTokens } from './tokens.js';
import { startStampReflector } from './stamp-reflector.js';
import { openWebGate } from '../web/server.js';
import { SummarizedLog } from '../lib/log-summary.js';
import { guardConnections } from './connection-guard.js';
import { timerMs } from '../lib/units.js';

/** Sent over and over by /download; big enough that each write is one large syscall. */
const PAYLOAD_BYTES = 256 * 1024;
/** A client must send its request headers within this time (slow-header clients are dropped). */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * How often Node checks headersTimeout. Its default, 30 s, let a slow-header client hold a
 * connection for up to 30 s instead of the documented 10 s; with 0.5 s the deadline is 10-10.5 s.
 */
const CONNECTIONS_CHECKING_INTERVAL_MS = 500;

export interface ResponderPorts {
  http?: number;
  https?: number;
  tcp?: number;
  udp?: number;
}

export interface RunningResponder {
  /** The bound ports (port 0 in the config becomes the port the kernel chose). */
  ports: ResponderPorts;
  registry: Registry;
  metrics: ResponderMetrics;
  stop(): Promise<void>;
}

/** Starts every configured listener; on failure the ones already started are closed again. */
export async function startResponder(
  config: ResponderConfig,
  log: Logger,
  registry: Registry = new Registry(),
  options: { /** Exporter-toolkit web config: basic auth (and headers) for /metrics. */ webConfigFile?: string } = {},
): Promise<RunningResponder> {
  const metrics = new ResponderMetrics(registry);
  const rejectionLog = new SummarizedLog(log, 'request refused');
  const { limits } = config;
  const gate = options.webConfigFile ? await openWebGate(options.webConfigFile, log, ['/metrics']) : undefined;
  const apiHandler = createHttpHandler({
    limits,
    tokens: new BearerTokens(config.tokens),
    slots: new TestSlots(limits.max_concurrent, limits.max_seconds, limits.max_streams_per_test),
    metrics,
    log,
    payload: randomBytes(PAYLOAD_BYTES),
    rejections: rejectionLog,
  });
  const serverOptions: ServerOptions = {
    headersTimeout: HEADERS_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    // Backstop only: the handler's own caps end a test well before this.
    requestTimeout: timerMs(limits.max_seconds + limits.idle_timeout + 10),
    keepAliveTimeout: 5000,
  };
  const handler = gate ? gate.wrap(apiHandler) : apiHandler;
  const ports: ResponderPorts = {};
  const closers: (() => Promise<void>)[] = [async () => rejectionLog.close(), ...(gate ? [() => gate.close()] : [])];
  const guard = { maxConnections: limits.max_connections, maxPerSource: limits.max_connections_per_source, metrics, rejections: rejectionLog };
  const address = config.listen.address;
  try {
    if (config.http.enabled) {
      const server = createHttpServer(serverOptions, handler);
      guardConnections(server, guard);
      ports.http = await listenOn(server, address, config.http.port);
      closers.push(() => closeHttp(server));
    }
    if (config.https && config.tlsCredentials) {
      const server = createHttpsServer({ ...serverOptions, handshakeTimeout: HEADERS_TIMEOUT_MS, ...config.tlsCredentials }, handler);
      guardConnections(server, guard);
      ports.https = await listenOn(server, address, config.https.port);
      closers.push(() => closeHttp(server));
    }
    if (config.tcp.enabled) {
      const tcp = await startTcpListener(address, config.tcp.port, metrics);
      ports.tcp = tcp.port;
      closers.push(tcp.close);
    }
    if (config.udp.enabled) {
      const reflector = await startStampReflector(address, config.udp, metrics, log);
      ports.udp = reflector.port;
      closers.push(reflector.close);
    }
  } catch (err) {
    await Promise.allSettled(closers.map((close) => close()));
    throw err;
  }
  log.info({ address, ports, max_concurrent: limits.max_concurrent, max_bytes: limits.max_bytes, max_seconds: limits.max_seconds, tokens: config.tokens.length }, 'linkmon responder listening');
  let stopping: Promise<void> | undefined;
  return {
    ports,
    registry,
    metrics,
    stop: () => (stopping ??= Promise.allSettled(closers.map((close) => close())).then(() => undefined)),
  };
}

function closeHttp(server: HttpServer): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}
