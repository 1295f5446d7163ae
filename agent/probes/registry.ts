import type { IntervalKind } from '../../lib/kinds.js';
import type { Prober } from './types.js';

/** How the agent gets each interval kind's prober: imported the first time a config uses the kind. */
export type ProberRegistry = { readonly [K in IntervalKind]?: () => Promise<Prober<K>> };

/**
 * Every interval kind has exactly one prober; a kind added to lib/kinds.ts without one fails to
 * compile. Each is imported only when a config first uses its kind, so an agent pays only for the
 * kinds it probes: the HTTP prober brings undici (19 MiB RSS loaded alone, bench/results/memory-analysis.md).
 */
export const PROBERS: { readonly [K in IntervalKind]: () => Promise<Prober<K>> } = {
  icmp: async () => (await import('./icmp/prober.js')).icmpProber,
  tcp: async () => (await import('./tcp.js')).tcpProber,
  http: async () => (await import('./http.js')).httpProber,
  udp: async () => (await import('./udp/prober.js')).udpProber,
  dns: async () => (await import('./dns/prober.js')).dnsProber,
};
