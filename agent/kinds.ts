import type { IntervalModule } from './probes/types.js';

/**
 * Attempts that make one cycle (one interval) of a module: echo-style kinds send `packets` spread
 * over the interval, request-style kinds one. A new interval kind without a case fails to compile.
 */
export function attemptsPerCycle(module: IntervalModule): number {
  switch (module.kind) {
    case 'icmp':
    case 'udp':
      return module.packets;
    case 'tcp':
    case 'http':
    case 'dns':
      return 1;
  }
}
