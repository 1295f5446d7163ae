import { collectDefaultMetrics, type Registry } from 'prom-client';
import { registerProcessErrorMetric } from '../process-errors.js';
import { EVENT_LOOP_SAMPLING_MS, registerEventLoopDelayMetrics } from './event-loop-delay.js';

/** prom-client exports these gauges with a _total suffix, which `promtool check metrics` rejects. */
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * prom-client's process and Node.js metrics, minus the misnamed gauges (nodejs_active_handles
 * per type says the same), with the event-loop delay summary reporting the delay itself
 * (event-loop-delay.ts).
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS });
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  registerEventLoopDelayMetrics(registry);
  registerProcessErrorMetric(registry);
}
