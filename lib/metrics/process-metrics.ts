import { collectDefaultMetrics, type Registry } from 'prom-client';
import { registerProcessErrorMetric } from '../process-errors.js';

/** prom-client exports these gauges with a _total suffix, which `promtool check metrics` rejects. */
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * prom-client's process and Node.js metrics, minus the misnamed gauges (nodejs_active_handles
 * per type says the same). The event-loop lag histogram samples once a second rather than the
 * default 10 ms, which woke an idle agent 100 times a second and was most of its idle CPU.
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  registerProcessErrorMetric(registry);
}
