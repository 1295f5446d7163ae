/** One cumulative bucket of a Prometheus histogram: the count of observations ≤ upperBound. */
export interface CumulativeBucket {
  upperBound: number;
  count: number;
}

/**
 * A port of PromQL's histogram_quantile for classic histograms (promql/quantile.go `bucketQuantile`,
 * same in Prometheus 2.42 and 3.x): linear interpolation inside the bucket holding the rank, the
 * lowest bucket interpolated from 0 when its bound is positive, the +Inf bucket answered with the
 * highest finite bound. Used by benches and tests to read a quantile exactly as a dashboard would.
 */
export function histogramQuantile(q: number, buckets: readonly CumulativeBucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = coalesce([...buckets].sort((a, b) => a.upperBound - b.upperBound));
  const last = sorted[sorted.length - 1];
  if (last === undefined || last.upperBound !== Number.POSITIVE_INFINITY) return Number.NaN;
  ensureMonotonic(sorted);
  if (sorted.length < 2) return Number.NaN;
  const observations = last.count;
  if (observations === 0) return Number.NaN;

  let rank = q * observations;
  let b = sorted.findIndex((bucket, i) => i < sorted.length - 1 && bucket.count >= rank);
  if (b === -1) b = sorted.length - 1;
  if (b === sorted.length - 1) return sorted[sorted.length - 2]!.upperBound;
  const bucket = sorted[b]!;
  if (b === 0 && bucket.upperBound <= 0) return bucket.upperBound;

  let bucketStart = 0;
  let count = bucket.count;
  if (b > 0) {
    const below = sorted[b - 1]!;
    bucketStart = below.upperBound;
    count -= below.count;
    rank -= below.count;
  }
  return bucketStart + (bucket.upperBound - bucketStart) * (rank / count);
}

/**
 * Cumulative buckets from the exposition lines of one histogram series, e.g.
 * `linkmon_probe_duration_seconds_bucket{target="a",le="0.005"} 12`. Lines of other series must
 * be filtered out by the caller.
 */
export function bucketsFromExposition(lines: readonly string[]): CumulativeBucket[] {
  const buckets: CumulativeBucket[] = [];
  for (const line of lines) {
    const match = /le="([^"]+)"[^}]*\}\s+(\S+)/.exec(line);
    if (!match) continue;
    const upperBound = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
    buckets.push({ upperBound, count: Number(match[2]) });
  }
  return buckets;
}

/** Merges buckets with the same upper bound (they can come from differently labelled series). */
function coalesce(sorted: CumulativeBucket[]): CumulativeBucket[] {
  const merged: CumulativeBucket[] = [];
  for (const bucket of sorted) {
    const previous = merged[merged.length - 1];
    if (previous && previous.upperBound === bucket.upperBound) previous.count += bucket.count;
    else merged.push({ ...bucket });
  }
  return merged;
}

/** Counts scraped at slightly different moments can decrease between buckets; PromQL forces them monotonic. */
function ensureMonotonic(sorted: CumulativeBucket[]): void {
  let max = Number.NEGATIVE_INFINITY;
  for (const bucket of sorted) {
    if (bucket.count > max) max = bucket.count;
    else bucket.count = max;
  }
}
