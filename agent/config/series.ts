import { LATENCY_BUCKETS } from '../metrics.js';
import { LINK_THRESHOLDS } from '../capacity/terms.js';
import { TRACE_FAILURE_REASONS } from '../path-tracing/trace.js';
import { DNS_SECTIONS } from '../probes/dns/metrics.js';
import { FAILURE_REASONS, HTTP_PHASES } from '../probes/types.js';
import { DISCONTINUITY_CAUSES } from '../snmp/metrics.js';
import { SNMP_FAILURE_REASONS } from '../snmp/errors.js';
import { SKIP_REASONS } from '../throughput/metrics.js';
import type { AgentConfig } from './schema.js';

/**
 * How many series an agent with this config exports, at most: what `limits.max_series` is checked
 * against and `linkmon validate` prints. Counted from the metric definitions (docs/metrics.md);
 * test/agent/config/series.test.ts compares it with a running agent's registry.
 */
export function estimateSeries(config: AgentConfig): number {
  const histogram = LATENCY_BUCKETS.length + 3; // buckets, +Inf, _sum, _count
  // attempts, failures by reason, success, duration, jitter, last success, cycle duration, IP protocol
  const generic = 1 + FAILURE_REASONS.length + 1 + histogram + 4;
  const directions = 2;
  const perKind: Record<string, number> = {
    icmp: generic,
    tcp: generic,
    // phases, status code, certificate expiry
    http: generic + HTTP_PHASES.length + 2,
    // sent, lost, jitter, reordered, duplicates per direction
    udp: generic + 5 * directions,
    // response code, records per section, TCP fallbacks
    dns: generic + 1 + DNS_SECTIONS.length + 1,
    // rate, last test, tests, bytes, failures by reason (all but busy), skips by reason; per direction
    throughput: directions * (4 + FAILURE_REASONS.length - 1 + SKIP_REASONS.length),
  };
  // linkmon_icmp_socket_info: one per address family
  let series = PROCESS_SERIES + (Object.values(config.modules).some((m) => m.kind === 'icmp') ? 2 : 0);
  for (const target of config.targets) series += perKind[config.modules[target.module]?.kind ?? 'icmp'] ?? generic;
  for (const device of config.snmp?.devices ?? []) {
    // success, duration, polls, last success, failures by reason
    series += 4 + SNMP_FAILURE_REASONS.length;
    // bytes, errors, discards per direction; discontinuities by cause; speed, up, resolved
    series += device.interfaces.length * (3 * directions + DISCONTINUITY_CAUSES.length + 3);
  }
  // info, capacity, step size, one-off cost, annual cost, lead time, thresholds
  series += (config.links?.length ?? 0) * (6 + LINK_THRESHOLDS.length);
  const tracing = config.path_tracing;
  // available; per target: traces, failures by reason, hop count, last responding hop, changes;
  // per hop: RTT, probes sent, probes lost, the address info
  if (tracing) series += 1 + tracing.targets.length * (4 + TRACE_FAILURE_REASONS.length + 4 * tracing.max_hops);
  return series;
}

/** The agent's own and prom-client's process series (build info, errors by class, GC, heap spaces...). */
const PROCESS_SERIES = 120;
