import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RenderBuffer } from './render-buffer.js';

/**
 * A prom-client Registry whose text exposition is several times faster, byte for byte the same.
 * prom-client formats every line from scratch: it spreads the default labels into a new object,
 * escapes every label value with three regular expressions and joins arrays, 1.5-3 µs a line, so
 * 10,000 series (mostly histogram buckets) take 15-20 ms per scrape. Here a histogram line is
 * written as bytes from two cached parts, the start up to its `le` label (one per bucket bound, shared
 * by every series of the histogram) and the rest of its labels (one per series), so a scrape only
 * copies them and writes the numbers, into a RenderBuffer the caller keeps from scrape to scrape.
 * Caching whole lines per series instead cost ~9 MiB of heap and buffers for 50 ICMP targets of 295
 * buckets (bench/results/memory-analysis.md), for a scrape no faster.
 *
 * It reads prom-client 15 internals (`hashMap` of Counter, Gauge and Histogram, `upperBounds` of
 * Histogram); test/lib/metrics/fast-registry.test.ts compares the output with prom-client's own, so an
 * upgrade that changes them fails there. Anything unusual (OpenMetrics, exemplars, a collect()
 * callback, other metric types) goes to prom-client's formatter.
 */
export class FastRegistry extends Registry {
  private defaults: Record<string, unknown> = {};
  /** The label part after `le` of each histogram series' lines, by the series object prom-client stores. */
  private seriesTails = new WeakMap<HistogramSeries, SeriesTails>();
  /** Label part (`{…}` or '') of counter and gauge lines, by the labels object prom-client stores. */
  private labelText = new WeakMap<object, string>();
  private readonly heads = new WeakMap<HistogramInternals, HistogramHeads>();

  override setDefaultLabels(labels: object): void {
    super.setDefaultLabels(labels);
    this.defaults = { ...labels };
    this.seriesTails = new WeakMap();
    this.labelText = new WeakMap();
  }

  /**
   * Collects every metric, then gives the writer of the exposition: it writes the UTF-8 text into a
   * RenderBuffer, after what it holds, without building (and garbage-collecting) one ~1 MB string or
   * Buffer per scrape, and returns where its chunks end: offsets that break only at line boundaries
   * (what toOpenMetrics needs). The bytes are Buffer.from(await metrics()) of the moment it writes.
   * Split so a caller can take its buffer when it writes, not while collect() callbacks run.
   */
  async exposition(): Promise<ExpositionWriter> {
    // Like prom-client's metrics(): every metric's collect() starts before any is formatted.
    const metrics = this.getMetricsAsArray();
    const texts = await Promise.all(metrics.map((metric) => (this.fastHistogram(metric) ? undefined : this.getMetricsAsString(metric))));
    return (out) => {
      const ends: number[] = [];
      metrics.forEach((metric, i) => {
        if (i > 0) ends.push(appendEnd(out, METRIC_SEPARATOR));
        const histogram = this.fastHistogram(metric);
        if (!histogram) return void ends.push(appendEnd(out, texts[i]!));
        ends.push(appendEnd(out, this.headsOf(histogram).header));
        this.writeHistogramLines(histogram, out);
        ends.push(out.length);
      });
      ends.push(appendEnd(out, FINAL_NEWLINE));
      return ends;
    };
  }

  /** The exposition as UTF-8 chunks that break only at line boundaries: Buffer.concat(chunks) is Buffer.from(await metrics()). */
  async metricsChunks(): Promise<Buffer[]> {
    const out = new RenderBuffer();
    return chunksOf(out, 0, (await this.exposition())(out));
  }

  /** prom-client calls this for every metric in metrics() and getSingleMetricAsString(). */
  async getMetricsAsString(metric: unknown): Promise<string> {
    const histogram = this.fastHistogram(metric);
    if (histogram) {
      const out = new RenderBuffer();
      out.append(this.headsOf(histogram).header);
      this.writeHistogramLines(histogram, out);
      return out.content.toString();
    }
    if (this.contentType === Registry.PROMETHEUS_CONTENT_TYPE && isPlain(metric) && (metric instanceof Counter || metric instanceof Gauge)) {
      return this.valueText(metric as unknown as ValueMetricInternals);
    }
    return (Registry.prototype as unknown as { getMetricsAsString(m: unknown): Promise<string> }).getMetricsAsString.call(this, metric);
  }

  private fastHistogram(metric: unknown): HistogramInternals | undefined {
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE || !isPlain(metric) || !(metric instanceof Histogram)) return undefined;
    return Array.isArray((metric as Partial<HistogramInternals>).upperBounds) ? (metric as unknown as HistogramInternals) : undefined;
  }

  /** Every series' lines (each starting with a newline) as UTF-8, written into `into` after what it holds. */
  private writeHistogramLines(histogram: HistogramInternals, into: RenderBuffer): void {
    const heads = this.headsOf(histogram);
    const all = Object.values(histogram.hashMap);
    const tails = all.map((series) => this.tailsOf(series));
    const lines = heads.keys.length + 3;
    const size = tails.reduce((sum, t) => sum + heads.size + (heads.keys.length + 1) * t.bucket.length + 2 * t.plain.length + lines * MAX_NUMBER_BYTES, 0);
    const out = into.reserve(size);
    let at = into.length;
    // TypedArray#set is a plain memcpy; Buffer#copy validates its arguments, which doubled a scrape.
    const put = (part: Buffer) => {
      out.set(part, at);
      at += part.length;
    };
    all.forEach((series, s) => {
      const { bucket, plain } = tails[s]!;
      const counts = series.bucketValues;
      let cumulative = 0;
      for (let i = 0; i < heads.keys.length; i++) {
        cumulative += counts[heads.keys[i]!]!;
        put(heads.lines[i]!);
        put(bucket);
        at = writeNumber(out, at, cumulative);
      }
      const inf = heads.keys.length;
      for (const [head, tail, value] of [[inf, bucket, series.count], [inf + 1, plain, series.sum], [inf + 2, plain, series.count]] as const) {
        put(heads.lines[head]!);
        put(tail);
        at = writeNumber(out, at, value);
      }
    });
    into.length = at;
  }

  /** HELP and TYPE, and the start of each line up to the end of its metric name or `le` label. */
  private headsOf(histogram: HistogramInternals): HistogramHeads {
    let heads = this.heads.get(histogram);
    if (heads) return heads;
    const name = escapeString(histogram.name);
    const texts = [
      ...histogram.upperBounds.map((bound) => `\n${name}_bucket{${formatLabels([['le', bound]])[0]!}`),
      `\n${name}_bucket{${formatLabels([['le', '+Inf']])[0]!}`,
      `\n${name}_sum`,
      `\n${name}_count`,
    ];
    const lines = texts.map((text) => Buffer.from(text));
    heads = {
      header: Buffer.from(`# HELP ${name} ${escapeString(histogram.help)}\n# TYPE ${name} histogram`),
      lines,
      size: lines.reduce((sum, line) => sum + line.length, 0),
      keys: histogram.upperBounds.map(String),
    };
    this.heads.set(histogram, heads);
    return heads;
  }

  /** The rest of a series' labels, in prom-client's order: own labels (`le`), default labels, series labels. */
  private tailsOf(series: HistogramSeries): SeriesTails {
    let tails = this.seriesTails.get(series);
    if (tails) return tails;
    const shared = series.labels;
    const defaults = Object.entries(this.defaults).filter(([label]) => !Object.prototype.hasOwnProperty.call(shared, label));
    const sharedPart = formatLabels(Object.entries(shared)).join(',');
    const rest = (own: string[]) => [...formatLabels(defaults.filter(([label]) => !own.includes(label))), sharedPart].filter(Boolean).join(',');
    const afterLe = rest(['le']);
    const plain = rest([]);
    tails = { bucket: Buffer.from(`${afterLe ? `,${afterLe}` : ''}} `), plain: Buffer.from(plain ? `{${plain}} ` : ' ') };
    this.seriesTails.set(series, tails);
    return tails;
  }

  private valueText(metric: ValueMetricInternals): string {
    const name = escapeString(metric.name);
    let out = `# HELP ${name} ${escapeString(metric.help)}\n# TYPE ${name} ${metric.type}`;
    for (const series of Object.values(metric.hashMap)) {
      let labels = this.labelText.get(series.labels);
      if (labels === undefined) {
        // prom-client's order: the series' labels, then default labels it does not set itself.
        const own = Object.entries(series.labels);
        const parts = formatLabels([...own, ...Object.entries(this.defaults).filter(([label]) => !own.some(([o]) => o === label))]);
        labels = parts.length ? `{${parts.join(',')}}` : '';
        this.labelText.set(series.labels, labels);
      }
      out += `\n${name}${labels} ${valueString(series.value)}`;
    }
    return out;
  }
}

/** Writes a registry's text exposition into a RenderBuffer and returns where its chunks end (FastRegistry.exposition()). */
export type ExpositionWriter = (out: RenderBuffer) => number[];

/** The writer of a registry's text exposition, collected now: FastRegistry's, or prom-client's metrics() as one chunk. */
export async function expositionWriter(registry: Registry): Promise<ExpositionWriter> {
  if (registry instanceof FastRegistry) return registry.exposition();
  const text = await registry.metrics();
  return (out) => {
    out.appendString(text);
    return [out.length];
  };
}

/** Views of `out` from `start` to each end: the chunks an ExpositionWriter wrote. */
export function chunksOf(out: RenderBuffer, start: number, ends: readonly number[]): Buffer[] {
  return ends.map((end, i) => out.bytes.subarray(i === 0 ? start : ends[i - 1]!, end));
}

function appendEnd(out: RenderBuffer, part: Buffer | string): number {
  if (typeof part === 'string') out.appendString(part);
  else out.append(part);
  return out.length;
}

interface HistogramSeries {
  labels: Record<string, unknown>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

interface HistogramInternals {
  name: string;
  help: string;
  upperBounds: readonly number[];
  hashMap: Record<string, HistogramSeries>;
}

interface ValueMetricInternals {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  hashMap: Record<string, { labels: Record<string, unknown>; value: number }>;
}

/** Per histogram: HELP/TYPE, and the start of each line of a series: each bucket, +Inf, _sum, _count. */
interface HistogramHeads {
  header: Buffer;
  lines: Buffer[];
  /** Bytes of all `lines`. */
  size: number;
  /** bucketValues keys, in bound order. */
  keys: string[];
}

/** A series' labels after the head: `,…} ` for bucket lines (after `le`), `{…} ` or ` ` for _sum and _count. */
interface SeriesTails {
  bucket: Buffer;
  plain: Buffer;
}

/** valueString() is at most 26 characters ("-0.000000" and 17 digits). */
const MAX_NUMBER_BYTES = 32;

/** Writes valueString(value) at `at` (safe integers digit by digit, other numbers via their string); returns the new end. */
function writeNumber(out: Buffer, at: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) return at + out.write(valueString(value), at, 'latin1');
  if (value === 0) {
    out[at] = 48;
    return at + 1;
  }
  let end = at;
  for (let v = value; v > 0; v = Math.floor(v / 10)) end++;
  for (let i = end - 1, v = value; v > 0; i--, v = Math.floor(v / 10)) out[i] = 48 + (v % 10);
  return end;
}

const METRIC_SEPARATOR = Buffer.from('\n\n');
const FINAL_NEWLINE = Buffer.from('\n');

function isPlain(metric: unknown): boolean {
  const internals = metric as { enableExemplars?: boolean; collect?: unknown; hashMap?: unknown };
  return !internals.enableExemplars && !internals.collect && typeof internals.hashMap === 'object' && internals.hashMap !== null;
}

// The helpers below reproduce prom-client 15's formatting (lib/registry.js, lib/util.js) exactly.
function formatLabels(labels: [string, unknown][]): string[] {
  return labels.map(([label, value]) => `${label}="${typeof value === 'string' ? escapeString(value).replace(/"/g, '\\"') : String(value)}"`);
}

function escapeString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function valueString(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}
