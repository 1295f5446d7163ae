import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ModuleKind } from '../lib/kinds.js';
import type { TargetConfig } from './config/schema.js';
import { LINKMON_VERSION } from '../lib/version.js';
import { registeredGauge } from '../lib/metrics/registered.js';
import { FAILURE_REASONS, HTTP_PHASES, type ProbeResult, type TargetLabels } from './probes/types.js';

/**
 * Latency buckets from 100 µs to 5 s. Between 1 ms and 200 ms (every WAN RTT of interest) the
 * bounds are 2% apart: histogram_quantile interpolates linearly inside a bucket, so when a quiet
 * path puts every sample near the bottom of one bucket of relative width w, the q-quantile reads up
 * to q·w high, and p95 stays within 2% only if w <= 2.1% (4% steps gave up to 3.8%; see
 * bench/icmp-accuracy.ts). Outside that range 25% steps keep the series count down.
 */
export const LATENCY_BUCKETS: readonly number[] = latencyBuckets();

function latencyBuckets(): number[] {
  const bounds: number[] = [];
  const addGeometric = (from: number, to: number, factor: number) => {
    for (let b = from; b < to * 0.9999; b *= factor) bounds.push(b);
  };
  addGeometric(0.0001, 0.001, 1.25);
  addGeometric(0.001, 0.2, 1.02);
  addGeometric(0.2, 5, 1.25);
  bounds.push(5);
  return bounds.map((b) => Number(b.toPrecision(4)));
}

/**
 * linkmon_probe_ip_protocol, per target of every kind: the interval kinds' results and the
 * throughput scheduler (agent/throughput/metrics.ts) both set it, so whichever creates it first,
 * the other gets the same gauge.
 */
export function ipProtocolGauge(registry: Registry, perTargetLabelNames: readonly string[]): Gauge<string> {
  return registeredGauge(registry, { name: 'linkmon_probe_ip_protocol', help: 'Address family of the most recent attempt that got as far as an address: 4 or 6 (0: none yet).', labelNames: perTargetLabelNames });
}

export const ERROR_CLASSES = ['config_reload', 'prober_unavailable', 'probe_exception', 'http_server'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

export function targetLabels(target: TargetConfig, kind: ModuleKind): TargetLabels {
  return { target: target.name, kind, ...target.labels };
}

/** Sorted union of the static label names the targets use; it fixes the metrics' label names. */
export function extraLabelNames(targets: readonly TargetConfig[]): string[] {
  return [...new Set(targets.flatMap((t) => Object.keys(t.labels)))].sort();
}

/**
 * Every metric the agent exports about its own targets and itself. Created on an injected
 * registry; docs/metrics.md is the contract and must list every name defined here.
 */
export class AgentMetrics {
  /**
   * The latest success, last-success time, jitter and cycle duration of each target, as plain numbers
   * that those gauges read when they are collected (a scrape) rather than being set on every attempt: setting a
   * labelled prom-client gauge sorts the label names and allocates a new series, 4 KB of garbage per
   * ICMP echo, over half the agent's allocation at 500 echoes/s (bench/results/memory-analysis.md).
   * Keyed by the labels' text; `byLabels` finds a target's entry from the labels object the scheduler passes.
   */
  private readonly latest = new Map<string, LatestValues>();
  private byLabels = new WeakMap<TargetLabels, LatestValues>();
  readonly buildInfo: Gauge<string>;
  readonly configReloadSuccessful: Gauge<string>;
  readonly configReloadTimestamp: Gauge<string>;
  readonly errors: Counter<string>;
  readonly proberAvailable: Gauge<string>;
  readonly attempts: Counter<string>;
  readonly failures: Counter<string>;
  readonly success: Gauge<string>;
  readonly duration: Histogram<string>;
  readonly jitter: Gauge<string>;
  readonly lastSuccess: Gauge<string>;
  readonly cycleDuration: Gauge<string>;
  readonly httpPhase: Gauge<string>;
  readonly httpStatus: Gauge<string>;
  readonly certExpiry: Gauge<string>;
  readonly ipProtocol: Gauge<string>;

  constructor(
    readonly registry: Registry,
    readonly labelNames: readonly string[],
  ) {
    const registers = [registry];
    const perTarget = ['target', 'kind', ...labelNames];
    this.buildInfo = new Gauge({ name: 'linkmon_build_info', help: 'Always 1; labels carry the linkmon version and Node.js version.', labelNames: ['version', 'nodejs_version'], registers });
    this.configReloadSuccessful = new Gauge({ name: 'linkmon_config_last_reload_successful', help: 'Whether the last configuration load or reload succeeded (1) or was rejected (0).', registers });
    this.configReloadTimestamp = new Gauge({ name: 'linkmon_config_last_reload_success_timestamp_seconds', help: 'Unix time of the last successful configuration load.', registers });
    this.errors = new Counter({ name: 'linkmon_errors_total', help: 'Internal errors of the agent itself (not probe failures), by class.', labelNames: ['class'], registers });
    this.proberAvailable = new Gauge({ name: 'linkmon_prober_available', help: 'Whether the agent can run probes of this kind (0: e.g. ICMP without CAP_NET_RAW).', labelNames: ['kind'], registers });
    this.attempts = new Counter({ name: 'linkmon_probe_attempts_total', help: 'Probe attempts started (for ICMP: echo requests sent).', labelNames: perTarget, registers });
    this.failures = new Counter({ name: 'linkmon_probe_failures_total', help: 'Probe attempts that failed (for ICMP: echo requests lost), by reason.', labelNames: [...perTarget, 'reason'], registers });
    const targets = this.latest;
    /** collect() of a gauge whose per-target values live in `latest`; prom-client calls it with the gauge as `this`. */
    const latest = (field: LatestField) =>
      function publish(this: Gauge<string>) {
        for (const values of targets.values()) {
          const value = values[field];
          if (value !== undefined) this.set(values.labels, value);
        }
      };
    this.success = new Gauge({ name: 'linkmon_probe_success', help: 'Whether the most recent probe attempt succeeded.', labelNames: perTarget, registers, collect: latest('success') });
    this.duration = new Histogram({ name: 'linkmon_probe_duration_seconds', help: 'Duration of successful attempts: ICMP round-trip time, TCP connect time, whole HTTP request.', labelNames: perTarget, buckets: [...LATENCY_BUCKETS], registers });
    this.jitter = new Gauge({ name: 'linkmon_probe_jitter_seconds', help: 'RFC 3550 smoothed mean of |D(i) - D(i-1)| over consecutive successful attempt durations.', labelNames: perTarget, registers, collect: latest('jitter') });
    this.lastSuccess = new Gauge({ name: 'linkmon_probe_last_success_timestamp_seconds', help: 'Unix time of the most recent successful attempt (0: none yet).', labelNames: perTarget, registers, collect: latest('lastSuccess') });
    this.cycleDuration = new Gauge({ name: 'linkmon_probe_cycle_duration_seconds', help: 'Wall time of the last completed probe cycle (all attempts of one interval); above the interval means the agent cannot keep up.', labelNames: perTarget, registers, collect: latest('cycleDuration') });
    this.httpPhase = new Gauge({ name: 'linkmon_http_phase_duration_seconds', help: 'Duration of each phase of the most recent HTTP probe.', labelNames: [...perTarget, 'phase'], registers });
    this.httpStatus = new Gauge({ name: 'linkmon_http_status_code', help: 'HTTP status code of the most recent HTTP probe (0: no response).', labelNames: perTarget, registers });
    this.ipProtocol = ipProtocolGauge(registry, perTarget);
    this.certExpiry = new Gauge({ name: 'linkmon_tls_cert_expiry_timestamp_seconds', help: 'Unix time at which the HTTPS target\'s leaf certificate expires.', labelNames: perTarget, registers });

    this.buildInfo.set({ version: LINKMON_VERSION, nodejs_version: process.version }, 1);
    for (const errorClass of ERROR_CLASSES) this.errors.inc({ class: errorClass }, 0);
  }

  /** Creates every series of a target at zero, so dashboards and rate() see it from load. */
  addTarget(labels: TargetLabels): void {
    this.attempts.inc(labels, 0);
    for (const reason of FAILURE_REASONS) this.failures.inc({ ...labels, reason }, 0);
    this.latest.set(JSON.stringify(labels), { labels, success: 0, lastSuccess: 0, jitter: 0, cycleDuration: 0 });
    this.success.set(labels, 0);
    this.duration.zero(labels);
    this.jitter.set(labels, 0);
    this.lastSuccess.set(labels, 0);
    this.cycleDuration.set(labels, 0);
    this.ipProtocol.set(labels, 0);
    if (labels.kind === 'http') {
      for (const phase of HTTP_PHASES) this.httpPhase.set({ ...labels, phase }, 0);
      this.httpStatus.set(labels, 0);
    }
  }

  removeTarget(labels: TargetLabels): void {
    this.latest.delete(JSON.stringify(labels));
    this.byLabels = new WeakMap();
    for (const metric of [this.attempts, this.success, this.duration, this.jitter, this.lastSuccess, this.cycleDuration, this.httpStatus, this.certExpiry, this.ipProtocol]) {
      metric.remove(labels);
    }
    for (const reason of FAILURE_REASONS) this.failures.remove({ ...labels, reason });
    for (const phase of HTTP_PHASES) this.httpPhase.remove({ ...labels, phase });
  }

  /** Counts an attempt as it starts (docs/metrics.md: attempts started), before its result is known. */
  attemptStarted(labels: TargetLabels): void {
    this.attempts.inc(labels);
  }

  /**
   * Records one attempt's result; the attempt itself was counted by attemptStarted().
   * Jitter state is owned by the caller (one tracker per target).
   */
  recordAttempt(labels: TargetLabels, result: ProbeResult, jitterSeconds: number | undefined, nowSeconds: number): void {
    const latest = this.latestOf(labels);
    latest.success = result.ok ? 1 : 0;
    if (result.ok) {
      this.duration.observe(labels, result.durationSeconds);
      latest.lastSuccess = nowSeconds;
      if (jitterSeconds !== undefined) latest.jitter = jitterSeconds;
    } else {
      this.failures.inc({ ...labels, reason: result.reason });
    }
    // The family seldom changes: the gauge is set when it does, not on every attempt.
    if (result.ipProtocol !== undefined && latest.ipProtocol !== result.ipProtocol) {
      latest.ipProtocol = result.ipProtocol;
      this.ipProtocol.set(labels, result.ipProtocol);
    }
    if (result.http) {
      for (const phase of HTTP_PHASES) this.httpPhase.set({ ...labels, phase }, result.http.phaseSeconds[phase]);
      this.httpStatus.set(labels, result.http.statusCode);
      if (result.http.certExpirySeconds !== undefined) this.certExpiry.set(labels, result.http.certExpirySeconds);
    }
  }

  /** Records the wall time of a target's last completed cycle (all attempts of one interval). */
  recordCycle(labels: TargetLabels, seconds: number): void {
    this.latestOf(labels).cycleDuration = seconds;
  }

  /** A target's latest values; one recorded without addTarget() gets series as values arrive, as when the gauges were set directly. */
  private latestOf(labels: TargetLabels): LatestValues {
    let values = this.byLabels.get(labels);
    if (values) return values;
    const key = JSON.stringify(labels);
    values = this.latest.get(key);
    if (!values) this.latest.set(key, (values = { labels }));
    this.byLabels.set(labels, values);
    return values;
  }
}

type LatestField = 'success' | 'lastSuccess' | 'jitter' | 'cycleDuration';

interface LatestValues extends Partial<Record<LatestField, number>> {
  labels: TargetLabels;
  /** The family last set on linkmon_probe_ip_protocol (a gauge shared with the throughput scheduler, so set directly). */
  ipProtocol?: number;
}
