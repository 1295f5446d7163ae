import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SummarizedLog } from '../lib/log-summary.js';
import { ExpositionRenderer, negotiateExposition, sendExposition } from '../web/exposition.js';
import type { ResponderConfig } from './config.js';
import type { AbortReason, HttpEndpoint, HttpRejectionReason, ResponderMetrics, TestEndpoint } from './metrics.js';
import type { TestSlots } from './slots.js';
import type { BearerTokens } from './tokens.js';
import { timerMs } from '../lib/units.js';

export interface HttpHandlerDeps {
  limits: ResponderConfig['limits'];
  tokens: BearerTokens;
  slots: TestSlots;
  metrics: ResponderMetrics;
  log: Logger;
  /** Random bytes sent over and over by /download (incompressible, never rebuilt). */
  payload: Buffer;
  /** Where refusals are logged: the first at once, then a summary per interval (a flood is one line a minute). */
  rejections: SummarizedLog;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const ENDPOINT_BY_PATH: Record<string, HttpEndpoint> = {
  '/download': 'download',
  '/upload': 'upload',
  '/latency': 'latency',
  '/healthz': 'healthz',
  '/metrics': 'metrics',
};
const METHODS: Record<HttpEndpoint, readonly string[]> = {
  download: ['GET'],
  upload: ['POST'],
  latency: ['GET', 'HEAD'],
  healthz: ['GET', 'HEAD'],
  metrics: ['GET'],
  other: [],
};
/** Requests with the same value are one test and share its slot (docs/responder.md). */
export const TEST_ID_HEADER = 'x-linkmon-test-id';
const TEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** After an error reply to an upload the body is not read; the connection is closed this long after. */
const CLOSE_GRACE_MS = 1000;

/** The responder's HTTP(S) API (docs/responder.md is the contract). */
export function createHttpHandler(deps: HttpHandlerDeps): Handler {
  const { limits, metrics } = deps;
  const exposition = new ExpositionRenderer();

  const sendJson = (res: ServerResponse, status: number, body: object, headers: OutgoingHttpHeaders = {}) => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  /** Refuses a request with a short JSON body; counted and logged (never with the Authorization header). */
  const reject = (
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: HttpEndpoint,
    status: number,
    reason: HttpRejectionReason,
    detail: string,
    extra: Record<string, number> = {},
    headers: OutgoingHttpHeaders = {},
  ) => {
    metrics.rejections.inc({ endpoint, reason });
    deps.rejections.record(reason, req.socket.remoteAddress, { endpoint, status });
    // An unread request body must not be drained: close the connection instead.
    const closeAfter = endpoint === 'upload' || (req.method !== 'GET' && req.method !== 'HEAD');
    sendJson(res, status, { error: reason, detail, ...extra }, closeAfter ? { ...headers, Connection: 'close' } : headers);
    if (closeAfter) closeSoon(req, res);
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://responder');
    const endpoint = ENDPOINT_BY_PATH[url.pathname] ?? 'other';
    metrics.requests.inc({ endpoint });
    if (endpoint === 'other') return reject(req, res, endpoint, 404, 'not_found', `no endpoint ${url.pathname}`);
    const allowed = METHODS[endpoint];
    if (!allowed.includes(req.method ?? '')) {
      return reject(req, res, endpoint, 405, 'method_not_allowed', `${endpoint} accepts ${allowed.join(', ')}`, {}, { Allow: allowed.join(', ') });
    }
    switch (endpoint) {
      case 'latency':
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store', 'Content-Length': 3 });
        return void res.end(req.method === 'HEAD' ? undefined : 'ok\n');
      case 'healthz':
        return sendJson(res, 200, { status: 'ok' });
      case 'metrics':
        return void exposition.render(metrics.registry, negotiateExposition(req.headers)).then(
          (encoded) => {
            // Its memory is written again by a later scrape: not before this response is done with it.
            if (res.closed) encoded.release();
            else res.once('close', () => encoded.release());
            sendExposition(res, encoded);
          },
          (err: unknown) => {
            deps.log.error({ err }, 'collecting metrics failed');
            sendJson(res, 500, { error: 'internal', detail: 'collecting metrics failed' });
          },
        );
      case 'download':
      case 'upload':
        return startTest(req, res, endpoint, url.searchParams);
    }
  };

  function startTest(req: IncomingMessage, res: ServerResponse, endpoint: TestEndpoint, params: URLSearchParams): void {
    if (!deps.tokens.accepts(req.headers.authorization)) {
      return reject(req, res, endpoint, 401, 'unauthorized', 'missing or invalid bearer token', {}, { 'WWW-Authenticate': 'Bearer realm="linkmon"' });
    }
    let download: { bytes: number } | { seconds: number } | undefined;
    if (endpoint === 'download') {
      const parsed = parseDownloadParams(params);
      if ('problem' in parsed) return reject(req, res, endpoint, 400, 'bad_request', parsed.problem);
      if ('bytes' in parsed && parsed.bytes > limits.max_bytes) {
        return reject(req, res, endpoint, 413, 'too_large', `bytes above the cap of ${limits.max_bytes}`, { limit_bytes: limits.max_bytes });
      }
      if ('seconds' in parsed && parsed.seconds > limits.max_seconds) {
        return reject(req, res, endpoint, 413, 'too_long', `seconds above the cap of ${limits.max_seconds}`, { limit_seconds: limits.max_seconds });
      }
      download = parsed;
    } else {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > limits.max_bytes) {
        return reject(req, res, endpoint, 413, 'too_large', `Content-Length above the cap of ${limits.max_bytes}`, { limit_bytes: limits.max_bytes });
      }
    }
    const testId = req.headers[TEST_ID_HEADER];
    if (testId !== undefined && (typeof testId !== 'string' || !TEST_ID.test(testId))) {
      return reject(req, res, endpoint, 400, 'bad_request', `${TEST_ID_HEADER} must be 1-64 letters, digits, ".", "_" or "-"`);
    }
    // One test's requests share a slot; the source address keeps clients' ids apart.
    const release = deps.slots.tryAcquire(testId === undefined ? undefined : `${req.socket.remoteAddress}|${testId}`);
    if (!release) {
      const retryAfter = deps.slots.retryAfterSeconds();
      return reject(req, res, endpoint, 429, 'busy', `no test slot free (${limits.max_concurrent} tests at once, ${limits.max_streams_per_test} streams per test)`, { retry_after_seconds: retryAfter }, { 'Retry-After': String(retryAfter) });
    }
    metrics.testsStarted.inc({ endpoint });
    metrics.testsActive.inc({ endpoint });
    const test = new RunningTest(req, res, endpoint, deps, () => {
      release();
      metrics.testsActive.dec({ endpoint });
    });
    if (download) test.runDownload(download);
    else test.runUpload(reject);
  }
}

/** One admitted /download or /upload: its timers, its byte count, and exactly one release. */
class RunningTest {
  private abortedBy: AbortReason | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly endpoint: TestEndpoint,
    private readonly deps: HttpHandlerDeps,
    release: () => void,
  ) {
    res.once('close', () => {
      for (const timer of this.timers) clearTimeout(timer);
      clearTimeout(this.idleTimer);
      if (!res.writableFinished && this.abortedBy === undefined) this.countAbort('disconnected');
      release();
    });
  }

  runDownload(request: { bytes: number } | { seconds: number }): void {
    const { limits, metrics, payload } = this.deps;
    const limitBytes = 'bytes' in request ? request.bytes : limits.max_bytes;
    let sent = 0;
    let timeUp = false;
    this.res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': 'no-store',
      ...('bytes' in request ? { 'Content-Length': request.bytes } : {}),
    });
    if ('seconds' in request) {
      this.after(request.seconds, () => {
        timeUp = true;
      });
    } else {
      this.after(limits.max_seconds, () => this.abort('time_cap'));
    }
    const pump = () => {
      clearTimeout(this.idleTimer);
      while (this.abortedBy === undefined && !this.res.destroyed) {
        const remaining = limitBytes - sent;
        if (remaining <= 0 || timeUp) return void this.res.end();
        const chunk = remaining >= payload.length ? payload : payload.subarray(0, remaining);
        sent += chunk.length;
        metrics.testBytes.inc({ direction: 'dc_to_site' }, chunk.length);
        if (!this.res.write(chunk)) {
          // Backpressure: wait for the socket to drain, but not forever.
          this.idleTimer = setTimeout(() => this.abort('stalled'), timerMs(limits.idle_timeout));
          this.res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }

  runUpload(reject: (req: IncomingMessage, res: ServerResponse, endpoint: HttpEndpoint, status: number, reason: HttpRejectionReason, detail: string, extra?: Record<string, number>) => void): void {
    const { limits, metrics } = this.deps;
    let bytes = 0;
    let first: bigint | undefined;
    let last: bigint | undefined;
    let answered = false;
    const stopReading = () => {
      answered = true;
      this.req.pause();
    };
    const armIdle = () => {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => {
        if (answered) return;
        stopReading();
        this.abortedBy = 'stalled';
        this.countAbort('stalled');
        this.replyAndClose(408, { error: 'stalled', detail: `no data for ${limits.idle_timeout}s`, idle_seconds: limits.idle_timeout });
      }, timerMs(limits.idle_timeout));
    };
    this.after(limits.max_seconds, () => {
      if (answered) return;
      stopReading();
      this.abortedBy = 'time_cap';
      this.countAbort('time_cap');
      this.replyAndClose(413, { error: 'too_long', detail: `upload still running at the cap of ${limits.max_seconds}s`, limit_seconds: limits.max_seconds });
    });
    armIdle();
    this.req.on('data', (chunk: Buffer) => {
      if (answered) return;
      last = process.hrtime.bigint();
      first ??= last;
      bytes += chunk.length;
      metrics.testBytes.inc({ direction: 'site_to_dc' }, chunk.length);
      if (bytes > limits.max_bytes) {
        stopReading();
        clearTimeout(this.idleTimer);
        reject(this.req, this.res, 'upload', 413, 'too_large', `body above the cap of ${limits.max_bytes} bytes`, { limit_bytes: limits.max_bytes });
        return;
      }
      armIdle();
    });
    this.req.once('end', () => {
      if (answered) return;
      answered = true;
      clearTimeout(this.idleTimer);
      const seconds = first !== undefined && last !== undefined ? Number(last - first) / 1e9 : 0;
      const text = `${JSON.stringify({ bytes, seconds })}\n`;
      this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
      this.res.end(text);
    });
  }

  private after(seconds: number, action: () => void): void {
    this.timers.push(setTimeout(action, timerMs(seconds)));
  }

  private abort(reason: AbortReason): void {
    if (this.abortedBy !== undefined || this.res.destroyed) return;
    this.abortedBy = reason;
    this.countAbort(reason);
    this.res.destroy();
  }

  private countAbort(reason: AbortReason): void {
    this.deps.metrics.testsAborted.inc({ endpoint: this.endpoint, reason });
    this.deps.log.info({ endpoint: this.endpoint, reason, remote: this.req.socket.remoteAddress }, 'test aborted');
  }

  private replyAndClose(status: number, body: object): void {
    const text = `${JSON.stringify(body)}\n`;
    if (!this.res.headersSent) {
      this.res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text), Connection: 'close' });
    }
    this.res.end(text);
    closeSoon(this.req, this.res);
  }
}

/** Gives the client a moment to read the error reply, then drops the connection (an unread body stays unread). */
function closeSoon(req: IncomingMessage, res: ServerResponse): void {
  req.pause();
  const timer = setTimeout(() => req.socket.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  res.once('finish', () => req.socket.end());
  req.socket.once('close', () => clearTimeout(timer));
}

function parseDownloadParams(params: URLSearchParams): { bytes: number } | { seconds: number } | { problem: string } {
  const bytes = params.get('bytes');
  const seconds = params.get('seconds');
  if ((bytes === null) === (seconds === null)) return { problem: 'give exactly one of bytes=N or seconds=S' };
  if (bytes !== null) {
    const value = /^\d{1,16}$/.test(bytes) ? Number(bytes) : NaN;
    return Number.isSafeInteger(value) && value >= 1 ? { bytes: value } : { problem: 'bytes must be a whole number of at least 1' };
  }
  const value = /^\d{1,6}(\.\d{1,9})?$/.test(seconds ?? '') ? Number(seconds) : NaN;
  return value > 0 ? { seconds: value } : { problem: 'seconds must be a positive number' };
}
