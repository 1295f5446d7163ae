// A small client of the Prometheus HTTP query API (also served by PromQL-compatible long-term stores
// such as VictoriaMetrics), with undici. Every failure becomes a ReportError naming its cause.
import { request, type Dispatcher } from 'undici';
import { errorCode } from '../lib/error-code.js';
import { ReportError } from './errors.js';

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export interface PrometheusClient {
  /** An instant query at `time` (Unix seconds) that returns an instant vector (or a scalar, as one unlabelled sample). */
  vector(expr: string, time: number): Promise<VectorSample[]>;
  /** An instant query of a range selector: the raw samples of each series. */
  matrix(expr: string, time: number): Promise<MatrixSeries[]>;
}

export interface ClientOptions {
  /** Per query, from sending the request to the end of the body. */
  timeoutMs: number;
  dispatcher?: Dispatcher;
}

/** Node and undici error codes → the cause named in the one-line error (the code is the only input). */
const CAUSE_BY_CODE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EAI_FAIL: 'host name lookup failed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  ETIMEDOUT: 'connect timed out',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
};

/** The URL without credentials, for messages. */
export function displayUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  return shown.href.replace(/\/$/, '');
}

export function prometheusClient(baseUrl: URL, options: ClientOptions): PrometheusClient {
  const shown = displayUrl(baseUrl);
  const endpoint = new URL(`${baseUrl.pathname.replace(/\/$/, '')}/api/v1/query`, baseUrl);
  endpoint.username = '';
  endpoint.password = '';
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (baseUrl.username !== '') {
    const credentials = `${decodeURIComponent(baseUrl.username)}:${decodeURIComponent(baseUrl.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }

  async function query(expr: string, time: number): Promise<{ resultType: string; result: unknown }> {
    const controller = new AbortController();
    let timedOut = false;
    // The deadline is this timer, held and cleared; the request is aborted when it fires.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    try {
      const response = await request(endpoint, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ query: expr, time: String(time) }).toString(),
        signal: controller.signal,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      const text = await response.body.text();
      return parseResponse(response.statusCode, text);
    } catch (err) {
      if (err instanceof ReportError) throw err;
      if (timedOut) throw new ReportError('timeout', `Prometheus at ${shown} did not answer within ${options.timeoutMs / 1000}s (raise --timeout, or check its load)`);
      const code = errorCode(err);
      const cause = code === undefined ? 'request failed' : (CAUSE_BY_CODE[code] ?? code);
      throw new ReportError('unreachable', `cannot reach Prometheus at ${shown}: ${cause}`);
    } finally {
      clearTimeout(timer);
    }
  }

  function parseResponse(status: number, text: string): { resultType: string; result: unknown } {
    let body: { status?: string; data?: { resultType: string; result: unknown }; error?: string } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.status === 'success' && body.data) return body.data;
    if (body?.status === 'error') throw new ReportError('query', `Prometheus at ${shown} rejected a query (HTTP ${status}): ${body.error ?? 'no reason given'}`);
    throw new ReportError('query', `${shown} is not a Prometheus query API: HTTP ${status} from ${endpoint.pathname} without a Prometheus JSON answer`);
  }

  return {
    async vector(expr, time) {
      const data = await query(expr, time);
      if (data.resultType === 'vector') return data.result as VectorSample[];
      if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
      throw new ReportError('query', `Prometheus at ${shown} answered a ${data.resultType} where an instant vector was expected`);
    },
    async matrix(expr, time) {
      const data = await query(expr, time);
      if (data.resultType === 'matrix') return data.result as MatrixSeries[];
      throw new ReportError('query', `Prometheus at ${shown} answered a ${data.resultType} where a range of samples was expected`);
    },
  };
}
