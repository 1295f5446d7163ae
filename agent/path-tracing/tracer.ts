import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, errorCode } from '../../lib/error-code.js';
import { AttemptDeadline } from '../probes/deadline.js';
import { systemResolver } from '../probes/resolver.js';
import type { Logger } from 'pino';
import type { PathTracingConfig } from '../config/schema.js';
import type { NativeAddon } from '../probes/native/addon.js';

import type { PathMetrics } from './metrics.js';
import { hopAddress, lastRespondingHop, pathChanged, traceRoute, type Trace } from './trace.js';
import { UdpHopProber } from './udp-hop-prober.js';

export interface TraceTarget {
  name: string;
  /** Host name or address to trace towards. */
  host: string;
  /** Metric labels: target and the target's static labels. */
  labels: Record<string, string>;
}

/** What outlives one config load for a target: the last trace (for path changes) and what was last logged. */
export interface TracerState {
  previous?: Trace;
  logged?: string;
}

/**
 * Traces one target every `interval` (drift-free, first after `offsetSeconds`), one trace at a
 * time, and records each in the path metrics. A failed trace is a metric and, when the outcome
 * changes, one log line; the loop keeps going until stop().
 */
export class PathTracer {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private prober?: { address: string; prober: UdpHopProber };
  private readonly log: Logger;

  constructor(
    private readonly target: TraceTarget,
    private readonly settings: PathTracingConfig,
    private readonly addon: NativeAddon,
    private readonly metrics: PathMetrics,
    private readonly state: TracerState,
    log: Logger,
    private readonly offsetSeconds = 0,
  ) {
    this.log = log.child({ component: 'path_tracing', target: target.name });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    // Closing the socket ends the hop waiting for answers at once.
    this.prober?.prober.close();
    await this.loop;
    this.prober?.prober.close();
    this.prober = undefined;
  }

  /** One trace, recorded in the metrics; never throws. */
  async traceOnce(): Promise<Trace> {
    const trace = await this.trace();
    if (this.abort.signal.aborted) return trace;
    const changed = this.state.previous !== undefined && pathChanged(this.state.previous, trace);
    this.metrics.record(this.target.labels, trace, this.settings.max_hops, changed);
    this.logOutcome(trace, changed);
    this.state.previous = trace;
    return trace;
  }

  private async run(): Promise<void> {
    const intervalMs = this.settings.interval * 1000;
    let next = Date.now() + this.offsetSeconds * 1000;
    while (!this.abort.signal.aborted) {
      const wait = next - Date.now();
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal: this.abort.signal });
        } catch {
          return; // aborted
        }
      }
      try {
        await this.traceOnce();
      } catch (err) {
        this.log.error({ err }, 'path tracing bug; tracing continues');
      }
      const now = Date.now();
      while (next <= now) next += intervalMs;
    }
  }

  private async trace(): Promise<Trace> {
    // The agent's resolver (hosts file, TTL cache, bounded), within one hop's timeout: not dns.lookup's thread pool, which has no deadline.
    const lookup = new AttemptDeadline(this.settings.timeout, this.abort.signal);
    const resolved = await systemResolver.resolve(this.target.host, 0, lookup).finally(() => lookup.clear());
    if ('reason' in resolved) return { hops: [], outcome: { reached: false, reason: 'dns', detail: resolved.detail } };
    let prober: UdpHopProber;
    try {
      prober = this.proberFor(resolved.address, resolved.family);
    } catch (err) {
      const reason = errorCode(err) === 'EPERM' || errorCode(err) === 'EACCES' ? 'unavailable' : 'network';
      return { hops: [], outcome: { reached: false, reason, detail: `open a UDP socket for TTL-limited probes: ${describeError(err)}` } };
    }
    const { max_hops: maxHops, probes, timeout: timeoutSeconds } = this.settings;
    return traceRoute(prober.probeHop, { maxHops, probes, timeoutSeconds }, this.abort.signal);
  }

  /** One socket per target address, kept from trace to trace (same source port, same path through load balancers). */
  private proberFor(address: string, version: 4 | 6): UdpHopProber {
    if (this.prober?.address === address) return this.prober.prober;
    this.prober?.prober.close();
    this.prober = undefined;
    const prober = new UdpHopProber(this.addon, version, address, this.settings.port);
    this.prober = { address, prober };
    return prober;
  }

  private logOutcome(trace: Trace, changed: boolean): void {
    const last = lastRespondingHop(trace.hops);
    const where = last === 0 ? 'no hop answered' : `last answer from hop ${last} (${hopAddress(trace.hops[last - 1]!) ?? ''})`;
    const summary = trace.outcome.reached ? `reached in ${trace.outcome.hops} hops` : `${trace.outcome.reason}: ${trace.outcome.detail}`;
    const path = trace.hops.map((hop) => hopAddress(hop) ?? '*').join(' ');
    if (changed) this.log.info({ path, hops: trace.outcome.reached ? trace.outcome.hops : 0, last_responding_hop: last }, `path to ${this.target.host} changed: ${summary}`);
    const state = trace.outcome.reached ? 'reached' : trace.outcome.reason;
    if (state === this.state.logged) return;
    if (trace.outcome.reached) this.log.info({ path }, `path to ${this.target.host} ${summary}`);
    else this.log.warn({ reason: trace.outcome.reason, last_responding_hop: last, path }, `path to ${this.target.host} not traced to the end (${where}): ${trace.outcome.detail}`);
    this.state.logged = state;
  }
}
