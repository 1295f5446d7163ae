import { Counter, Gauge, type Registry } from 'prom-client';
import { DIRECTION_LABEL, THROUGHPUT_DIRECTIONS, type ThroughputDirection } from './directions.js';
import { FAILURE_REASONS, type FailureReason, type TargetLabels } from '../probes/types.js';
import type { TargetConfig } from '../config/schema.js';
import { extraLabelNames, ipProtocolGauge } from '../metrics.js';

export const SKIP_REASONS = ['overlap', 'busy'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** 429 is not a failure of the link: it is counted as a skip, so the failure list leaves it out. */
const TEST_FAILURE_REASONS = FAILURE_REASONS.filter((r) => r !== 'busy');

/**
 * The throughput scheduler's metrics (docs/metrics.md, "Agent: throughput"). Own counters rather
 * than linkmon_probe_attempts_total/failures_total: every figure here is per direction, and those
 * generic series have no direction label. Kept per registry so a reload keeps the counters.
 */
export class ThroughputMetrics {
  private static readonly byRegistry = new WeakMap<Registry, ThroughputMetrics>();

  readonly rate: Gauge<string>;
  readonly lastTest: Gauge<string>;
  readonly tests: Counter<string>;
  readonly failures: Counter<string>;
  readonly skipped: Counter<string>;
  readonly testBytes: Counter<string>;
  /** Shared with the interval kinds (agent/metrics.ts), so never unregistered here. */
  readonly ipProtocol: Gauge<string>;
  private readonly targets = new Map<string, TargetLabels>();

  /** The metrics of this registry, created on first use; recreated if the per-target label names change. */
  static on(registry: Registry, perTargetLabelNames: readonly string[]): ThroughputMetrics {
    const existing = ThroughputMetrics.byRegistry.get(registry);
    if (existing && existing.labelNames.join() === perTargetLabelNames.join()) return existing;
    existing?.unregister();
    const created = new ThroughputMetrics(registry, perTargetLabelNames);
    ThroughputMetrics.byRegistry.set(registry, created);
    return created;
  }

  /** The metrics of this registry for these targets: per-target labels `target`, `kind` and the targets' own label names. */
  static forTargets(registry: Registry, targets: readonly TargetConfig[]): ThroughputMetrics {
    return ThroughputMetrics.on(registry, ['target', 'kind', ...extraLabelNames(targets)]);
  }

  /** The metrics of this registry if they were ever created. */
  static existing(registry: Registry): ThroughputMetrics | undefined {
    return ThroughputMetrics.byRegistry.get(registry);
  }

  private constructor(
    private readonly registry: Registry,
    private readonly labelNames: readonly string[],
  ) {
    const registers = [registry];
    const perDirection = [...labelNames, 'direction'];
    this.rate = new Gauge({
      name: 'linkmon_throughput_bytes_per_second',
      help: 'Payload (HTTP body) bytes per second of the last successful test, all streams summed over the measured window (warm-up excluded).',
      labelNames: perDirection,
      registers,
    });
    this.lastTest = new Gauge({
      name: 'linkmon_throughput_last_test_timestamp_seconds',
      help: 'Unix time at which the last successful test ended (the age of linkmon_throughput_bytes_per_second); 0 until the first.',
      labelNames: perDirection,
      registers,
    });
    this.ipProtocol = ipProtocolGauge(registry, labelNames);
    this.tests = new Counter({ name: 'linkmon_throughput_tests_total', help: 'Throughput tests that ran to a result (success or failure); skipped tests are not counted.', labelNames: perDirection, registers });
    this.failures = new Counter({ name: 'linkmon_throughput_test_failures_total', help: 'Throughput tests that failed, by reason.', labelNames: [...perDirection, 'reason'], registers });
    this.skipped = new Counter({
      name: 'linkmon_throughput_skipped_total',
      help: 'Scheduled throughput tests that did not run: overlap (the previous run was still going), busy (the responder answered 429).',
      labelNames: [...perDirection, 'reason'],
      registers,
    });
    this.testBytes = new Counter({
      name: 'linkmon_throughput_test_bytes_total',
      help: 'Payload bytes the throughput tests themselves sent (site_to_dc) and received (dc_to_site), warm-up and failed tests included.',
      labelNames: perDirection,
      registers,
    });
  }

  /** Makes the series of exactly these targets exist (new ones at zero) and removes the others'. */
  syncTargets(wanted: ReadonlyMap<string, TargetLabels>): void {
    for (const [name, labels] of this.targets) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next) === JSON.stringify(labels)) continue;
      this.removeTarget(labels);
      this.targets.delete(name);
    }
    for (const [name, labels] of wanted) {
      if (this.targets.has(name)) continue;
      this.addTarget(labels);
      this.targets.set(name, labels);
    }
  }

  private addTarget(labels: TargetLabels): void {
    this.ipProtocol.set(labels, 0);
    // Every direction's counters exist, whatever the module tests, so sums across targets never miss a series.
    for (const direction of THROUGHPUT_DIRECTIONS) {
      const series = { ...labels, direction: DIRECTION_LABEL[direction] };
      this.lastTest.set(series, 0);
      this.tests.inc(series, 0);
      this.testBytes.inc(series, 0);
      for (const reason of TEST_FAILURE_REASONS) this.failures.inc({ ...series, reason }, 0);
      for (const reason of SKIP_REASONS) this.skipped.inc({ ...series, reason }, 0);
    }
  }

  private removeTarget(labels: TargetLabels): void {
    this.ipProtocol.remove(labels);
    for (const direction of THROUGHPUT_DIRECTIONS) {
      const series = { ...labels, direction: DIRECTION_LABEL[direction] };
      for (const metric of [this.rate, this.lastTest, this.tests, this.testBytes]) metric.remove(series);
      for (const reason of TEST_FAILURE_REASONS) this.failures.remove({ ...series, reason });
      for (const reason of SKIP_REASONS) this.skipped.remove({ ...series, reason });
    }
  }

  recordSuccess(labels: TargetLabels, direction: ThroughputDirection, bytesPerSecond: number, nowSeconds: number): void {
    const series = { ...labels, direction: DIRECTION_LABEL[direction] };
    this.tests.inc(series);
    this.rate.set(series, bytesPerSecond);
    this.lastTest.set(series, nowSeconds);
  }

  recordFailure(labels: TargetLabels, direction: ThroughputDirection, reason: FailureReason): void {
    const series = { ...labels, direction: DIRECTION_LABEL[direction] };
    this.tests.inc(series);
    this.failures.inc({ ...series, reason });
  }

  recordSkip(labels: TargetLabels, direction: ThroughputDirection, reason: SkipReason): void {
    this.skipped.inc({ ...labels, direction: DIRECTION_LABEL[direction], reason });
  }

  recordFamily(labels: TargetLabels, family: 4 | 6): void {
    this.ipProtocol.set(labels, family);
  }

  /** A counter of test bytes for one target and direction, for incrementing as bytes flow. */
  bytesCounter(labels: TargetLabels, direction: ThroughputDirection): (bytes: number) => void {
    const series = { ...labels, direction: DIRECTION_LABEL[direction] };
    return (bytes) => this.testBytes.inc(series, bytes);
  }

  private unregister(): void {
    for (const metric of [this.rate, this.lastTest, this.tests, this.failures, this.skipped, this.testBytes]) {
      // prom-client keeps the name on the instance but does not declare it in its types.
      this.registry.removeSingleMetric((metric as unknown as { name: string }).name);
    }
  }
}
