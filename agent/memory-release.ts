import { nativeAddon } from './probes/native/addon.js';

/**
 * How often the agent trims malloc's heap. Measured side by side (bench/memory.ts configurations, the
 * same 150 s, load 5-10; bench/results/memory-analysis.md §3): the demo, whose throughput test leaves
 * freed socket buffers in malloc's heap, held 41.4 MiB anonymous trimmed every minute against 46.9
 * untrimmed (37.6 vs 43.9 at 60 s); ICMP-only agents were the same either way (27.9 vs 27.6 at 1/s),
 * so trimming costs them nothing but one call a minute.
 */
export const TRIM_EVERY_MS = 60_000;

/**
 * Returns the free pages of malloc's heap to the kernel (the addon's memory.c: malloc_trim(0)) now
 * and every TRIM_EVERY_MS until the returned function is called. A no-op when the addon is not built.
 */
export function keepTrimmingMallocHeap(): () => void {
  const memory = nativeAddon()?.memory;
  if (!memory) return () => {};
  memory.trimMallocHeap();
  const timer = setInterval(() => memory.trimMallocHeap(), TRIM_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
