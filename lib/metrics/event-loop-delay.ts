import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * How often the event loop is sampled. prom-client's default, 10 ms, woke an idle agent 100 times
 * a second and was most of its idle CPU; once a second keeps it idle.
 */
export const EVENT_LOOP_SAMPLING_MS = 1000;

/**
 * The summary gauges prom-client derives from Node's event-loop delay histogram. Node records the
 * whole interval between two samples, not how late the second one was, so sampled once a second
 * prom-client's gauges read 1 s plus the delay (measured on Node 20: min 1000.9 ms on an idle
 * loop). These gauges keep prom-client's names and report the delay itself.
 */
const SUMMARY_GAUGES = {
  min: ['nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.'],
  max: ['nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.'],
  mean: ['nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.'],
  stddev: ['nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.'],
  p50: ['nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.'],
  p90: ['nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.'],
  p99: ['nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.'],
} as const;

type Summary = Record<keyof typeof SUMMARY_GAUGES, number>;

/** Replaces prom-client's event-loop delay summary with one that reports the delay, since the last scrape. */
export function registerEventLoopDelayMetrics(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLING_MS });
  histogram.enable();
  let current: Summary | undefined;
  const summarise = (): Summary => {
    const late = (nanoseconds: number) => (histogram.count === 0 ? 0 : Math.max(0, nanoseconds / 1e9 - EVENT_LOOP_SAMPLING_MS / 1000));
    const summary: Summary = {
      min: late(histogram.min),
      max: late(histogram.max),
      mean: late(histogram.mean),
      stddev: histogram.count === 0 ? 0 : histogram.stddev / 1e9,
      p50: late(histogram.percentile(50)),
      p90: late(histogram.percentile(90)),
      p99: late(histogram.percentile(99)),
    };
    histogram.reset();
    return summary;
  };
  for (const [key, [name, help]] of Object.entries(SUMMARY_GAUGES) as [keyof Summary, readonly [string, string]][]) {
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      // The first gauge collected in a scrape takes the summary and resets the histogram; the
      // others report from it, so all seven describe the same interval.
      collect() {
        if (key === 'min' || current === undefined) current = summarise();
        this.set(current[key]);
        if (key === 'p99') current = undefined;
      },
    });
  }
}
