import { createRequire } from 'node:module';
import type * as NodeCron from 'node-cron';

let loaded: typeof NodeCron | undefined;

/**
 * node-cron, required on first use: the config schema checks cron expressions synchronously and the
 * throughput scheduler runs them, and an agent without a throughput module never loads it
 * (bench/results/memory-analysis.md). Both get this one copy (its CommonJS build).
 */
export function nodeCron(): typeof NodeCron {
  return (loaded ??= createRequire(import.meta.url)('node-cron') as typeof NodeCron);
}
