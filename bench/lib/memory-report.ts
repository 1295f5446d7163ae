// Preloaded (node --import) into each Node process bench/memory.ts measures, the agents and the bare
// Node reference alike: on SIGUSR2 it appends one JSON line to $LINKMON_BENCH_MEMORY_FILE with
// process.memoryUsage(), V8's heap statistics and the size of each heap space. It imports only
// node:fs and node:v8, which the agent loads anyway (prom-client); in a bare Node process the
// preload costs 3.5 MiB RSS (the ESM loader --import starts, and node:v8), measured by bench/memory.ts.
// With $LINKMON_BENCH_GC_BEFORE_REPORT=1 (and node --expose-gc) it first runs a full collection, so the
// reading is what the process retains, not how long ago V8 last collected (bench/memory.ts --gc).
import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

export interface MemoryReport {
  /** performance.now() of the reporting process (ms since it started). */
  uptimeMs: number;
  usage: NodeJS.MemoryUsage;
  heap: { totalHeapSize: number; usedHeapSize: number; mallocedMemory: number; peakMallocedMemory: number; externalMemory: number; numberOfNativeContexts: number };
  /** Per V8 heap space: bytes reserved and bytes used. */
  spaces: Record<string, { size: number; used: number }>;
}

const file = process.env.LINKMON_BENCH_MEMORY_FILE;
if (file) {
  const collectFirst = process.env.LINKMON_BENCH_GC_BEFORE_REPORT === '1';
  process.on('SIGUSR2', () => {
    if (collectFirst) globalThis.gc?.();
    const heap = getHeapStatistics();
    const report: MemoryReport = {
      uptimeMs: performance.now(),
      usage: process.memoryUsage(),
      heap: {
        totalHeapSize: heap.total_heap_size,
        usedHeapSize: heap.used_heap_size,
        mallocedMemory: heap.malloced_memory,
        peakMallocedMemory: heap.peak_malloced_memory,
        externalMemory: heap.external_memory,
        numberOfNativeContexts: heap.number_of_native_contexts,
      },
      spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }])),
    };
    appendFileSync(file, `${JSON.stringify(report)}\n`);
  });
}
