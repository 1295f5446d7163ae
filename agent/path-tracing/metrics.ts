import type { Counter, Gauge, Registry } from 'prom-client';
import { registeredCounter, registeredGauge } from '../../lib/metrics/registered.js';
import { hopAddress, lastRespondingHop, TRACE_FAILURE_REASONS, type Trace } from './trace.js';

type Labels = Record<string, string>;

/**
 * Path tracing metrics (docs/metrics.md, "Agent: path tracing"). Per target, and per hop for at
 * most max_hops hops: the hop index is the label, never an address; addresses are the value of
 * one info series per hop. Looked up before being created, as the agent keeps its registry (and
 * so every counter) across reloads.
 */
export class PathMetrics {
  readonly available: Gauge<string>;
  readonly traces: Counter<string>;
  readonly failures: Counter<string>;
  readonly hopCount: Gauge<string>;
  readonly lastRespondingHop: Gauge<string>;
  readonly changes: Counter<string>;
  readonly hopRtt: Gauge<string>;
  readonly hopSent: Counter<string>;
  readonly hopLost: Counter<string>;
  readonly hopInfo: Gauge<string>;
  /** Address of each hop's info series, per target, so a new address replaces the old series. */
  private readonly addresses = new Map<string, Map<number, string>>();

  constructor(registry: Registry, targetLabelNames: readonly string[]) {
    const perTarget = [...targetLabelNames];
    const perHop = [...targetLabelNames, 'hop'];
    this.available = registeredGauge(registry, { name: 'linkmon_path_tracing_available', help: 'Whether path tracing can run (the native addon is built and its UDP socket opens).', labelNames: [] });
    this.traces = registeredCounter(registry, { name: 'linkmon_path_traces_total', help: 'Traces of the path to the target that ended (whatever the outcome).', labelNames: perTarget });
    this.failures = registeredCounter(registry, {
      name: 'linkmon_path_trace_failures_total',
      help: 'Traces that did not reach the target, by reason: unreached, unreachable, loop, dns, network, unavailable, error.',
      labelNames: [...perTarget, 'reason'],
    });
    this.hopCount = registeredGauge(registry, { name: 'linkmon_path_hop_count', help: 'Hops to the target in the last trace (the TTL at which it answered); 0 when it did not answer.', labelNames: perTarget });
    this.lastRespondingHop = registeredGauge(registry, {
      name: 'linkmon_path_last_responding_hop',
      help: 'Highest hop that answered in the last trace (the target included); 0 when nothing answered.',
      labelNames: perTarget,
    });
    this.changes = registeredCounter(registry, {
      name: 'linkmon_path_changes_total',
      help: 'Traces whose path differed from the previous one: a hop answering from another address, or another hop count.',
      labelNames: perTarget,
    });
    this.hopRtt = registeredGauge(registry, { name: 'linkmon_path_hop_rtt_seconds', help: 'Median round-trip time to the hop in the last trace; absent when the hop did not answer.', labelNames: perHop });
    this.hopSent = registeredCounter(registry, { name: 'linkmon_path_hop_probes_sent_total', help: 'TTL-limited probes sent to expire at (or reach) the hop.', labelNames: perHop });
    this.hopLost = registeredCounter(registry, { name: 'linkmon_path_hop_probes_lost_total', help: 'Probes the hop did not answer within the timeout (routers also rate-limit their answers).', labelNames: perHop });
    this.hopInfo = registeredGauge(registry, { name: 'linkmon_path_hop_info', help: 'Always 1: the address that answered at the hop in the last trace (most often, if several).', labelNames: [...perHop, 'address'] });
  }

  /** Creates the target's counters at zero (hops 1..maxHops) so they exist before its first trace. */
  addTarget(labels: Labels, maxHops: number): void {
    for (const metric of [this.traces, this.changes]) metric.inc(labels, 0);
    for (const reason of TRACE_FAILURE_REASONS) this.failures.inc({ ...labels, reason }, 0);
    this.hopCount.set(labels, 0);
    this.lastRespondingHop.set(labels, 0);
    for (let hop = 1; hop <= maxHops; hop++) {
      for (const metric of [this.hopSent, this.hopLost]) metric.inc({ ...labels, hop: String(hop) }, 0);
    }
  }

  removeTarget(labels: Labels, maxHops: number): void {
    for (const metric of [this.traces, this.changes, this.hopCount, this.lastRespondingHop]) metric.remove(labels);
    for (const reason of TRACE_FAILURE_REASONS) this.failures.remove({ ...labels, reason });
    for (let hop = 1; hop <= maxHops; hop++) {
      for (const metric of [this.hopSent, this.hopLost, this.hopRtt]) metric.remove({ ...labels, hop: String(hop) });
      this.setAddress(labels, hop, undefined);
    }
    this.addresses.delete(labels.target!);
  }

  record(labels: Labels, trace: Trace, maxHops: number, changed: boolean): void {
    this.traces.inc(labels);
    if (!trace.outcome.reached) this.failures.inc({ ...labels, reason: trace.outcome.reason });
    if (changed) this.changes.inc(labels);
    this.hopCount.set(labels, trace.outcome.reached ? trace.outcome.hops : 0);
    this.lastRespondingHop.set(labels, lastRespondingHop(trace.hops));
    for (let ttl = 1; ttl <= maxHops; ttl++) {
      const hop = trace.hops[ttl - 1];
      const series = { ...labels, hop: String(ttl) };
      if (hop) {
        this.hopSent.inc(series, hop.sent);
        this.hopLost.inc(series, hop.sent - hop.answers.length);
      }
      if (hop && hop.answers.length > 0) this.hopRtt.set(series, median(hop.answers.map((a) => a.rttSeconds)));
      else this.hopRtt.remove(series);
      this.setAddress(labels, ttl, hop && hopAddress(hop));
    }
  }

  private setAddress(labels: Labels, hop: number, address: string | undefined): void {
    let byHop = this.addresses.get(labels.target!);
    if (!byHop) this.addresses.set(labels.target!, (byHop = new Map()));
    const previous = byHop.get(hop);
    if (previous === address) return;
    if (previous !== undefined) this.hopInfo.remove({ ...labels, hop: String(hop), address: previous });
    if (address === undefined) byHop.delete(hop);
    else {
      byHop.set(hop, address);
      this.hopInfo.set({ ...labels, hop: String(hop), address }, 1);
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
