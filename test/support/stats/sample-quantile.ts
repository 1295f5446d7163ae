/**
 * Quantile of raw samples with linear interpolation between closest ranks (numpy's default,
 * Hyndman & Fan type 7). The reference for comparing an exported histogram against fping's own
 * per-echo RTTs. NaN for no samples.
 */
export function sampleQuantile(samples: readonly number[], q: number): number {
  if (samples.length === 0 || Number.isNaN(q)) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const position = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lower = Math.floor(position);
  const fraction = position - lower;
  const low = sorted[lower]!;
  const high = sorted[Math.min(lower + 1, sorted.length - 1)]!;
  return low + (high - low) * fraction;
}

export function median(samples: readonly number[]): number {
  return sampleQuantile(samples, 0.5);
}
