import { randomFillSync } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { describeError } from '../../lib/error-code.js';
import { timerMs } from '../../lib/units.js';
import type { NetworkSettings } from '../config/network-fields.js';
import { reasonFromError } from '../probes/reasons.js';
import type { AddressFamily } from '../probes/resolver.js';
import type { TlsClientSettings } from '../probes/tls-connect.js';
import type { FailureReason } from '../probes/types.js';
import { moduleConnector } from './connector.js';
import type { ThroughputDirection } from './directions.js';

export type TransferTls = TlsClientSettings;

export interface TransferOptions {
  /** Responder base URL; `download` and `upload` are resolved against it. */
  baseUrl: string;
  direction: ThroughputDirection;
  /** Parallel TCP connections, one request each. */
  streams: number;
  /** Payload of all streams together, or the time each stream transfers (warm-up included). */
  amount: { bytes: number } | { seconds: number };
  warmupSeconds: number;
  /** Hard caps: reaching one ends the transfer; the rate is taken over what was measured until then. */
  maxBytes: number;
  maxSeconds: number;
  /** No progress (connection, response headers, a body chunk) on some stream for this long fails as timeout. */
  stallSeconds: number;
  token?: string;
  /**
   * Sent as X-Linkmon-Test-Id so the responder counts every request of this transfer (parallel
   * streams, warm-up and measured requests) as one test holding one slot (docs/responder.md).
   */
  testId?: string;
  tls?: TransferTls;
  /** The module's address family, source address, interface and DSCP, for every connection (connector.ts). */
  network?: NetworkSettings;
  /** The family the connections use, once known. */
  onFamily?: (family: AddressFamily) => void;
  /** Aborts the transfer (shutdown); the result is then `aborted`. */
  signal?: AbortSignal;
  /** Every payload byte that crosses the socket, warm-up included, as it happens. */
  onBytes?: (bytes: number) => void;
}

interface TransferBase {
  direction: ThroughputDirection;
  /** Payload bytes sent or received by all streams, warm-up included. */
  totalBytes: number;
  elapsedSeconds: number;
}

export interface TransferMeasured extends TransferBase {
  outcome: 'ok';
  /** Payload bytes per second, all streams summed over the window in which all of them were running. */
  bytesPerSecond: number;
  measuredBytes: number;
  measuredSeconds: number;
  /** False when a stream ended before the warm-up did: the rate then includes slow start. */
  warmupExcluded: boolean;
  /** Set when a hard cap ended the transfer early. */
  stoppedBy?: 'max_bytes' | 'max_duration';
}

export interface TransferBusy extends TransferBase {
  outcome: 'busy';
  retryAfterSeconds?: number;
}

export interface TransferFailed extends TransferBase {
  outcome: 'failed';
  reason: FailureReason;
  /** For logs only: may name the URL, never the token. */
  detail: string;
}

export interface TransferAborted extends TransferBase {
  outcome: 'aborted';
}

export type TransferResult = TransferMeasured | TransferBusy | TransferFailed | TransferAborted;

type StopCause = 'shutdown' | 'max_bytes' | 'max_duration' | 'stall' | 'stream_ended_badly';

/** Upload payload: one incompressible buffer, sent again and again (never modified, so safe to share). */
const CHUNK_BYTES = 64 * 1024;
const UPLOAD_CHUNK = randomFillSync(Buffer.allocUnsafe(CHUNK_BYTES));
const ERROR_BODY_LIMIT = 4096;

/**
 * Measures throughput in one direction against the linkmon responder (docs/responder.md) over
 * `streams` parallel connections, always at the receiving end, as iperf3's receiver figure:
 *
 * - download: the agent counts body bytes as they are read. The rate covers the common window,
 *   from the end of the warm-up (counted from the moment every stream had its first byte) to the
 *   moment the first stream finished, so neither slow start nor the tail of an early finisher
 *   skews it.
 * - upload: each stream first sends a warm-up request for `warmupSeconds`, then, on the same
 *   (now warm) connection, the measured request; the responder's own count of that request
 *   ({bytes, seconds} from its first body byte to its last) gives the stream's rate, and the
 *   streams' rates are summed. Counting at the sender instead would measure the kernel's send
 *   buffer (megabytes, accepted in bursts), not the link.
 */
export async function measureTransfer(options: TransferOptions): Promise<TransferResult> {
  return new TransferRun(options).execute();
}

interface StreamProgress {
  bytes: number;
  lastProgressAt: number;
  active: boolean;
}

interface UploadReport {
  bytes: number;
  seconds: number;
}

class TransferRun {
  private readonly controller = new AbortController();
  private readonly startedAt = performance.now();
  private readonly streams: StreamProgress[];
  private readonly meter: WindowMeter;
  private readonly uploadReports: UploadReport[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private totalBytes = 0;
  /** Upload chunks handed to undici but not yet accepted by the socket, so parallel streams respect max_bytes together. */
  private uploadInFlight = 0;
  /** An upload cap reached: bodies end cleanly so the responder still reports what it received. */
  private uploadCapped?: 'max_bytes' | 'max_duration';
  private stopCause?: StopCause;
  private busy?: { retryAfterSeconds?: number };
  private failure?: { reason: FailureReason; detail: string };

  constructor(private readonly options: TransferOptions) {
    const count = 'bytes' in options.amount ? Math.min(options.streams, options.amount.bytes) : options.streams;
    this.streams = Array.from({ length: count }, () => ({ bytes: 0, lastProgressAt: this.startedAt, active: true }));
    this.meter = new WindowMeter(count, timerMs(options.warmupSeconds), () => this.totalBytes);
  }

  async execute(): Promise<TransferResult> {
    const { options } = this;
    const onShutdown = () => this.stop('shutdown');
    if (options.signal?.aborted) return { ...this.base(), outcome: 'aborted' };
    options.signal?.addEventListener('abort', onShutdown, { once: true });
    const stallMs = timerMs(options.stallSeconds);
    // An upload stops sending at max_duration by itself; the abort comes later, giving its send
    // buffer time to drain and the responder time to answer.
    const hardStopMs = timerMs(options.maxSeconds) + (options.direction === 'upload' ? stallMs : 0);
    this.timers.push(setTimeout(() => this.stop('max_duration'), hardStopMs));
    this.timers.push(setInterval(() => this.checkStall(stallMs), Math.min(1000, Math.max(50, stallMs / 4))));

    const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    const pool = new Pool(base.origin, {
      connections: this.streams.length,
      pipelining: 1,
      connect: moduleConnector({
        network: options.network ?? {},
        tls: options.tls ?? { rejectUnauthorized: true },
        timeoutSeconds: options.stallSeconds,
        signal: this.controller.signal,
        ...(options.onFamily ? { onFamily: options.onFamily } : {}),
      }),
      headersTimeout: stallMs,
      bodyTimeout: stallMs,
    });
    try {
      const shares = splitAmount(options.amount, this.streams.length);
      await Promise.all(this.streams.map((stream, i) => this.runStream(pool, base, stream, shares[i]!)));
    } finally {
      options.signal?.removeEventListener('abort', onShutdown);
      for (const timer of this.timers) clearTimeout(timer);
      this.meter.dispose();
      await (this.stopCause ? pool.destroy() : pool.close()).catch(() => undefined);
    }
    return this.result();
  }

  private async runStream(pool: Pool, base: URL, stream: StreamProgress, share: StreamShare): Promise<void> {
    try {
      const problem = this.options.direction === 'download' ? await this.download(pool, base, stream, share) : await this.upload(pool, base, stream, share);
      this.streamEnded(stream);
      if (problem !== undefined) this.streamFailed(problem);
    } catch (err) {
      this.streamEnded(stream);
      // Errors caused by our own abort (a cap, a stall, shutdown, another stream) are not the stream's fault.
      if (this.stopCause === undefined) this.streamFailed({ reason: reasonFromError(err), detail: `${this.options.direction}: ${describeError(err)}` });
    }
  }

  /** Resolves undefined when the stream completed; otherwise to why it did not. */
  private async download(pool: Pool, base: URL, stream: StreamProgress, share: StreamShare): Promise<StreamProblem | undefined> {
    const url = new URL('download', base);
    if ('bytes' in share) url.searchParams.set('bytes', String(share.bytes));
    else url.searchParams.set('seconds', String(share.seconds));
    const response = await pool.request({ ...this.requestBase(url), method: 'GET' });
    this.progress(stream, 0);
    if (response.statusCode !== 200) return problemFromResponse(response, 'download');
    await new Promise<void>((resolve, reject) => {
      response.body.on('data', (chunk: Buffer) => this.progress(stream, chunk.length));
      response.body.once('end', resolve);
      response.body.once('error', reject);
    });
    return undefined;
  }

  private async upload(pool: Pool, base: URL, stream: StreamProgress, share: StreamShare): Promise<StreamProblem | undefined> {
    const url = new URL('upload', base);
    const { warmupSeconds } = this.options;
    if (warmupSeconds > 0) {
      const warmup = await this.postUpload(pool, url, stream, { seconds: warmupSeconds });
      if ('reason' in warmup) return warmup;
    }
    const measured = await this.postUpload(pool, url, stream, 'seconds' in share ? { seconds: Math.max(0.001, share.seconds - warmupSeconds) } : share);
    if ('reason' in measured) return measured;
    this.uploadReports.push(measured);
    return undefined;
  }

  private async postUpload(pool: Pool, url: URL, stream: StreamProgress, share: StreamShare): Promise<UploadReport | StreamProblem> {
    const sent = { bytes: 0 };
    const response = await pool.request({
      ...this.requestBase(url),
      method: 'POST',
      headers: { ...this.requestBase(url).headers, 'content-type': 'application/octet-stream' },
      // undici writes async iterables chunk by chunk with backpressure (client-h1 writeIterable); its types omit them.
      body: this.uploadBody(stream, share, sent) as unknown as Readable,
    });
    this.progress(stream, 0);
    if (response.statusCode !== 200) return problemFromResponse(response, 'upload');
    const report = (await response.body.json()) as { bytes?: unknown; seconds?: unknown };
    if (report.bytes !== sent.bytes || typeof report.seconds !== 'number') {
      return { reason: 'error', detail: `upload: the responder counted ${String(report.bytes)} bytes, the agent sent ${sent.bytes}` };
    }
    return { bytes: report.bytes, seconds: report.seconds };
  }

  /** Chunked body; ends at its share, after its time (from its first chunk), or cleanly at a cap. */
  private async *uploadBody(stream: StreamProgress, share: StreamShare, sent: { bytes: number }): AsyncGenerator<Buffer> {
    const deadline = 'seconds' in share ? performance.now() + share.seconds * 1000 : Infinity;
    const capDeadline = this.startedAt + this.options.maxSeconds * 1000;
    let pending = 0;
    try {
      for (;;) {
        if (pending > 0) {
          this.uploadInFlight -= pending;
          sent.bytes += pending;
          this.progress(stream, pending);
          pending = 0;
        }
        const now = performance.now();
        if (this.stopCause !== undefined || this.uploadCapped !== undefined || now >= deadline) return;
        if (now >= capDeadline) {
          this.uploadCapped = 'max_duration';
          return;
        }
        const capLeft = this.options.maxBytes - this.totalBytes - this.uploadInFlight;
        if (capLeft <= 0) {
          this.uploadCapped = 'max_bytes';
          return;
        }
        const left = Math.min('bytes' in share ? share.bytes - sent.bytes : Infinity, capLeft);
        if (left <= 0) return;
        pending = Math.min(CHUNK_BYTES, left);
        this.uploadInFlight += pending;
        yield pending === CHUNK_BYTES ? UPLOAD_CHUNK : UPLOAD_CHUNK.subarray(0, pending);
      }
    } finally {
      this.uploadInFlight -= pending;
    }
  }

  private requestBase(url: URL): Dispatcher.RequestOptions {
    return {
      path: url.pathname + url.search,
      method: 'GET',
      headers: {
        ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        ...(this.options.testId ? { 'x-linkmon-test-id': this.options.testId } : {}),
      },
      signal: this.controller.signal,
    };
  }

  private progress(stream: StreamProgress, bytes: number): void {
    const now = performance.now();
    stream.lastProgressAt = now;
    if (bytes === 0) return;
    if (stream.bytes === 0) this.meter.streamStarted();
    stream.bytes += bytes;
    this.totalBytes += bytes;
    this.options.onBytes?.(bytes);
    if (this.options.direction === 'download' && this.totalBytes >= this.options.maxBytes) this.stop('max_bytes');
  }

  private streamEnded(stream: StreamProgress): void {
    stream.active = false;
    this.meter.close();
  }

  private streamFailed(problem: StreamProblem): void {
    if (this.stopCause !== undefined) return;
    if (problem.reason === 'busy') this.busy = { retryAfterSeconds: problem.retryAfterSeconds };
    else this.failure = { reason: problem.reason, detail: problem.detail };
    this.stop('stream_ended_badly');
  }

  private checkStall(stallMs: number): void {
    const now = performance.now();
    if (this.streams.some((s) => s.active && now - s.lastProgressAt > stallMs)) this.stop('stall');
  }

  private stop(cause: StopCause): void {
    if (this.stopCause !== undefined) return;
    this.stopCause = cause;
    this.meter.close();
    this.controller.abort();
  }

  private base(): TransferBase {
    return { direction: this.options.direction, totalBytes: this.totalBytes, elapsedSeconds: (performance.now() - this.startedAt) / 1000 };
  }

  private result(): TransferResult {
    const base = this.base();
    const { direction, maxSeconds, stallSeconds } = this.options;
    if (this.stopCause === 'shutdown') return { ...base, outcome: 'aborted' };
    if (this.busy) return { ...base, outcome: 'busy', ...this.busy };
    if (this.failure) return { ...base, outcome: 'failed', ...this.failure };
    if (this.stopCause === 'stall') return { ...base, outcome: 'failed', reason: 'timeout', detail: `${direction}: no progress for ${stallSeconds}s` };
    const window = direction === 'download' ? this.meter.window() : this.uploadWindow();
    if (!window) {
      const why = this.stopCause === 'max_duration' ? `not finished within max_duration (${maxSeconds}s)` : `nothing measured (the caps end it within the warm-up?)`;
      return { ...base, outcome: 'failed', reason: this.stopCause === 'max_duration' ? 'timeout' : 'error', detail: `${direction}: ${why}` };
    }
    const measured: TransferMeasured = { ...base, outcome: 'ok', ...window };
    const stoppedBy = this.uploadCapped ?? this.stopCause;
    if (stoppedBy === 'max_bytes' || stoppedBy === 'max_duration') measured.stoppedBy = stoppedBy;
    return measured;
  }

  /** Every stream's measured request as the responder counted it; rates summed (the streams ran side by side). */
  private uploadWindow(): Pick<TransferMeasured, 'bytesPerSecond' | 'measuredBytes' | 'measuredSeconds' | 'warmupExcluded'> | undefined {
    const reports = this.uploadReports.filter((r) => r.seconds > 0);
    if (reports.length === 0 || reports.length < this.streams.length) return undefined;
    return {
      bytesPerSecond: reports.reduce((sum, r) => sum + r.bytes / r.seconds, 0),
      measuredBytes: reports.reduce((sum, r) => sum + r.bytes, 0),
      measuredSeconds: Math.max(...reports.map((r) => r.seconds)),
      warmupExcluded: this.options.warmupSeconds > 0,
    };
  }
}

type StreamShare = { bytes: number } | { seconds: number };
type StreamProblem = { reason: 'busy'; retryAfterSeconds?: number } | { reason: Exclude<FailureReason, 'busy'>; detail: string };

/** Splits a byte amount over the streams (the first ones take the remainder); a time applies to each. */
function splitAmount(amount: TransferOptions['amount'], streams: number): StreamShare[] {
  if ('seconds' in amount) return Array.from({ length: streams }, () => ({ seconds: amount.seconds }));
  const each = Math.floor(amount.bytes / streams);
  const remainder = amount.bytes % streams;
  return Array.from({ length: streams }, (_, i) => ({ bytes: each + (i < remainder ? 1 : 0) }));
}

/** A non-200 answer: 429 is the responder being busy, anything else an http_status failure. */
async function problemFromResponse(response: Dispatcher.ResponseData, what: string): Promise<StreamProblem> {
  const text = await readSmall(response.body);
  if (response.statusCode === 429) return { reason: 'busy', retryAfterSeconds: parseRetryAfter(response.headers['retry-after']) };
  let code = '';
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') code = ` (${parsed.error})`;
  } catch {
    // not the responder's JSON error body: the status alone says enough
  }
  return { reason: 'http_status', detail: `${what}: status ${response.statusCode}${code}` };
}

async function readSmall(body: Dispatcher.ResponseData['body']): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += (chunk as Buffer).toString('utf8');
      if (text.length >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // the error body only adds detail; losing it (connection closed after the reply) changes nothing
  }
  if (!body.destroyed) body.destroy();
  return text.slice(0, ERROR_BODY_LIMIT);
}

/** Retry-After is either delay-seconds or an HTTP date. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

interface Snapshot {
  at: number;
  bytes: number;
}

/** A download's measured window: opened a warm-up after every stream has started, closed by the first stream to end. */
class WindowMeter {
  private started = 0;
  private firstAt?: number;
  private openTimer?: NodeJS.Timeout;
  private start?: Snapshot;
  private end?: Snapshot;

  constructor(
    private readonly streams: number,
    private readonly warmupMs: number,
    private readonly total: () => number,
  ) {}

  streamStarted(): void {
    this.firstAt ??= performance.now();
    this.started += 1;
    if (this.started !== this.streams || this.end) return;
    if (this.warmupMs === 0) this.open();
    else this.openTimer = setTimeout(() => this.open(), this.warmupMs);
  }

  close(): void {
    if (this.end || this.firstAt === undefined) return;
    clearTimeout(this.openTimer);
    this.end = this.snapshot();
  }

  dispose(): void {
    clearTimeout(this.openTimer);
  }

  /** Bytes and seconds of the measured window; without a full warm-up, everything since the first byte. */
  window(): Pick<TransferMeasured, 'bytesPerSecond' | 'measuredBytes' | 'measuredSeconds' | 'warmupExcluded'> | undefined {
    if (!this.end || this.firstAt === undefined) return undefined;
    const measured = (bytes: number, seconds: number, warmupExcluded: boolean) => ({ bytesPerSecond: bytes / seconds, measuredBytes: bytes, measuredSeconds: seconds, warmupExcluded });
    if (this.start && this.end.at > this.start.at) return measured(this.end.bytes - this.start.bytes, (this.end.at - this.start.at) / 1000, true);
    const seconds = (this.end.at - this.firstAt) / 1000;
    return seconds > 0 ? measured(this.end.bytes, seconds, false) : undefined;
  }

  private open(): void {
    if (!this.end) this.start = this.snapshot();
  }

  private snapshot(): Snapshot {
    return { at: performance.now(), bytes: this.total() };
  }
}
