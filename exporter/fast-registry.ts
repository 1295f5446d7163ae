import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A prom-client Registry whose text exposition is several times faster, byte for byte the same.
 * prom-client formats every line from scratch: it spreads the default labels into a new object,
 * escapes every label value with three regular expressions and joins arrays, 1.5-3 µs a line, so
 * 10,000 series (mostly histogram buckets) take 15-20 ms per scrape. Here the label part of each
 * series' lines is built once and cached (until the series is recreated or the default labels
 * change), so a scrape only appends values.
 *
 * It reads prom-client 15 internals (`hashMap` of Counter, Gauge and Histogram, `upperBounds` of
 * Histogram); test/unit/fast-registry.test.ts compares the output with prom-client's own, so an
 * upgrade that changes them fails there. Anything unusual (OpenMetrics, exemplars, a collect()
 * callback, other metric types) goes to prom-client's formatter.
 */
export class FastRegistry extends Registry {
  private defaults: Record<string, unknown> = {};
  private seriesText = new WeakMap<HistogramSeries, SeriesText>();
  /** Label part (`{…}` or '') of counter and gauge lines, by the labels object prom-client stores. */
  private labelText = new WeakMap<object, string>();
  private readonly boundKeys = new WeakMap<readonly number[], string[]>();

  override setDefaultLabels(labels: object): void {
    super.setDefaultLabels(labels);
    this.defaults = { ...labels };
    this.seriesText = new WeakMap();
    this.labelText = new WeakMap();
  }

  /** prom-client calls this for every metric in metrics() and getSingleMetricAsString(). */
  async getMetricsAsString(metric: unknown): Promise<string> {
    if (this.contentType === Registry.PROMETHEUS_CONTENT_TYPE && isPlain(metric)) {
      if (metric instanceof Histogram && Array.isArray((metric as Partial<HistogramInternals>).upperBounds)) return this.histogramText(metric as unknown as HistogramInternals);
      if (metric instanceof Counter || metric instanceof Gauge) return this.valueText(metric as unknown as ValueMetricInternals);
    }
    return (Registry.prototype as unknown as { getMetricsAsString(m: unknown): Promise<string> }).getMetricsAsString.call(this, metric);
  }

  private histogramText(histogram: HistogramInternals): string {
    const name = escapeString(histogram.name);
    const keys = this.keysOf(histogram.upperBounds);
    // One growing string (V8 concatenates lazily) instead of an array of 10,000 lines: less garbage, fewer GC pauses.
    let out = `# HELP ${name} ${escapeString(histogram.help)}\n# TYPE ${name} histogram`;
    for (const series of Object.values(histogram.hashMap)) {
      const text = this.textOf(series, name, histogram.upperBounds);
      const counts = series.bucketValues;
      let cumulative = 0;
      for (let i = 0; i < keys.length; i++) {
        cumulative += counts[keys[i]!]!;
        out += `\n${text.buckets[i]!}${cumulative}`;
      }
      out += `\n${text.inf}${valueString(series.count)}\n${text.sum}${valueString(series.sum)}\n${text.count}${valueString(series.count)}`;
    }
    return out;
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

  private keysOf(bounds: readonly number[]): string[] {
    let keys = this.boundKeys.get(bounds);
    if (!keys) this.boundKeys.set(bounds, (keys = bounds.map(String)));
    return keys;
  }

  /** The label part of each line, in prom-client's order: own labels, default labels, series labels. */
  private textOf(series: HistogramSeries, name: string, bounds: readonly number[]): SeriesText {
    const cached = this.seriesText.get(series);
    if (cached) return cached;
    const shared = series.labels;
    const defaults = Object.entries(this.defaults).filter(([label]) => !Object.prototype.hasOwnProperty.call(shared, label));
    const sharedPart = formatLabels(Object.entries(shared)).join(',');
    const line = (metricName: string, own: [string, unknown][]) => {
      const parts = [...formatLabels([...own, ...defaults.filter(([label]) => !own.some(([o]) => o === label))]), sharedPart].filter(Boolean);
      return `${metricName}${parts.length ? `{${parts.join(',')}}` : ''} `;
    };
    const text: SeriesText = {
      buckets: bounds.map((bound) => line(`${name}_bucket`, [['le', bound]])),
      inf: line(`${name}_bucket`, [['le', '+Inf']]),
      sum: line(`${name}_sum`, []),
      count: line(`${name}_count`, []),
    };
    this.seriesText.set(series, text);
    return text;
  }
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

interface SeriesText {
  buckets: string[];
  inf: string;
  sum: string;
  count: string;
}

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
