import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { constants as zlibConstants, gzipSync } from 'node:zlib';
import type { Registry } from 'prom-client';
import { chunksOf, expositionWriter } from '../lib/metrics/fast-registry.js';
import { toOpenMetrics, toOpenMetricsInPlace } from '../lib/metrics/openmetrics.js';
import { RenderBufferPool, type RenderBuffer } from '../lib/metrics/render-buffer.js';

/**
 * /metrics content negotiation as the Go exporters do it (client_golang's promhttp with
 * EnableOpenMetrics): the format from `Accept`, the compression from `Accept-Encoding`. Prometheus
 * asks for OpenMetrics first and accepts gzip, so that is what a scrape gets; a browser or curl
 * without headers gets plain text.
 *
 * Split in three so a caller can keep what it rendered: negotiateExposition() per request,
 * ExpositionRenderer.render() once per variant of one rendering, sendExposition() per request.
 */
export interface ExpositionVariant {
  format: 'text' | 'openmetrics-1.0.0' | 'openmetrics-0.0.1';
  encoding: 'gzip' | 'identity';
}

export interface EncodedExposition {
  headers: Record<string, string>;
  body: Buffer[];
  /** Gives the memory `body` is in back, to be written by a later render: only once no response sends it any more. */
  release(): void;
}

const CONTENT_TYPES: Record<ExpositionVariant['format'], string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  'openmetrics-1.0.0': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  'openmetrics-0.0.1': 'application/openmetrics-text; version=0.0.1; charset=utf-8',
};

/**
 * gzip level 1, in one synchronous call. Measured on a 1 MB body (10,000 series, Node 20, 2 cores):
 * level 1 takes 1.4 ms for 64 KB (16× smaller), the default level 6 takes 4.9 ms for 56 KB, and the
 * scrape-latency goal (p99 ≤ 10 ms) leaves no room for the last 13%. zlib's asynchronous form hands
 * each output chunk to libuv's thread pool and back: on a busy 2-core machine that took the scrape's
 * p99 to 20-44 ms where the synchronous call gave 6-12 ms in the same runs (bench/scrape-latency.ts),
 * for ~2-3 ms of event loop per scrape, about what rendering the body takes anyway.
 */
const GZIP_LEVEL = 1;

export function negotiateExposition(headers: IncomingHttpHeaders): ExpositionVariant {
  return { format: negotiateFormat(headers.accept), encoding: negotiateEncoding(headers['accept-encoding']) };
}

/**
 * Renders /metrics into memory it keeps and writes again on later scrapes (RenderBufferPool), not into
 * new strings and Buffers per scrape, which stayed allocated until a major collection (6-8 MiB on an
 * ICMP agent scraped every 15 s, bench/results/memory-render-buffer.md). The text is written into one
 * buffer, converted to OpenMetrics in place, and either sent from it or compressed from it into a
 * second, smaller one; a buffer being sent is not handed out again before release().
 */
export class ExpositionRenderer {
  private readonly buffers = new RenderBufferPool();
  /** The sizes of the last rendering, to take the free buffer that fits (a text one, a compressed one). */
  private textBytes = 0;
  private compressedBytes = 0;

  async render(registry: Registry, variant: ExpositionVariant): Promise<EncodedExposition> {
    const write = await expositionWriter(registry);
    // From here on synchronous: a buffer taken for the text is either the body or given back before
    // anything else runs.
    const text = this.buffers.acquire(this.textBytes);
    const ends = write(text);
    this.textBytes = text.length;
    if (variant.format !== 'text' && !toOpenMetricsInPlace(text, 0, ends)) this.rewrite(text, toOpenMetrics(chunksOf(text, 0, ends)));
    const headers: Record<string, string> = { 'Content-Type': CONTENT_TYPES[variant.format], 'Cache-Control': 'no-store', Vary: 'Accept, Accept-Encoding' };
    if (variant.encoding === 'identity') return this.encoded({ ...headers, 'Content-Length': String(text.length) }, text);
    const compressedInto = this.buffers.acquire(this.compressedBytes);
    // One output buffer of zlib's (no list of 16 KiB chunks concatenated), copied into ours and left to
    // the next young-generation collection.
    compressedInto.append(gzipSync(text.content, { level: GZIP_LEVEL, chunkSize: Math.max(zlibConstants.Z_DEFAULT_CHUNK, compressedInto.capacity) }));
    this.buffers.release(text);
    this.compressedBytes = compressedInto.length;
    return this.encoded({ ...headers, 'Content-Encoding': 'gzip', 'Content-Length': String(compressedInto.length) }, compressedInto);
  }

  /** Free buffers kept for later renders (for tests). */
  get freeBuffers(): number {
    return this.buffers.freeCount;
  }

  private encoded(headers: Record<string, string>, body: RenderBuffer): EncodedExposition {
    let released = false;
    return {
      headers,
      body: [body.content],
      release: () => {
        if (released) return;
        released = true;
        this.buffers.release(body);
      },
    };
  }

  /** The rare OpenMetrics conversion that cannot be done in place: through a second buffer, copied back. */
  private rewrite(text: RenderBuffer, chunks: readonly Buffer[]): void {
    const spare = this.buffers.acquire(this.textBytes);
    for (const chunk of chunks) spare.append(chunk);
    text.clear();
    text.append(spare.content);
    this.buffers.release(spare);
  }
}

export function sendExposition(res: ServerResponse, encoded: EncodedExposition): void {
  res.writeHead(200, encoded.headers);
  if (res.req.method === 'HEAD') return void res.end();
  // Corked, the chunks leave in one writev.
  res.cork();
  for (const chunk of encoded.body) res.write(chunk);
  res.end();
}

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

/** goautoneg's order: highest q first (ties keep header order); the first range we can serve wins. */
function negotiateFormat(accept: string | undefined): ExpositionVariant['format'] {
  for (const range of parseList(accept).filter((r) => r.q > 0).sort((a, b) => b.q - a.q)) {
    const version = range.params.get('version') ?? '';
    if (range.type === 'application/openmetrics-text' && (version === '1.0.0' || version === '')) return 'openmetrics-1.0.0';
    if (range.type === 'application/openmetrics-text' && version === '0.0.1') return 'openmetrics-0.0.1';
    if (range.type === 'text/plain' && (version === '0.0.4' || version === '')) return 'text';
  }
  return 'text';
}

/** gzip when its q (or `*`'s) is above zero and not below identity's (identity is acceptable unless excluded). */
function negotiateEncoding(acceptEncoding: string | undefined): ExpositionVariant['encoding'] {
  const codings = parseList(acceptEncoding);
  const q = (name: string) => codings.find((c) => c.type === name)?.q;
  const any = q('*');
  const gzipQ = q('gzip') ?? q('x-gzip') ?? any ?? 0;
  const identityQ = q('identity') ?? any ?? 1;
  return gzipQ > 0 && gzipQ >= identityQ ? 'gzip' : 'identity';
}

/** A comma-separated header of `token;param=value;q=0.5` items (q=0: refused). */
function parseList(header: string | undefined): MediaRange[] {
  if (!header) return [];
  return header
    .split(',')
    .map((item) => {
      const [type = '', ...rawParams] = item.split(';').map((part) => part.trim());
      const params = new Map<string, string>();
      for (const param of rawParams) {
        const eq = param.indexOf('=');
        if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
      }
      const q = params.has('q') ? Number(params.get('q')) : 1;
      return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 };
    })
    .filter((range) => range.type !== '');
}
