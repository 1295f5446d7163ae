import { Counter, Gauge, type Registry } from 'prom-client';

interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/**
 * The registry's metric of this name, or a new one registered on it. Components are rebuilt on
 * every config reload while the registry (and so every counter) is kept: this returns the same
 * metric each time instead of failing with "already registered".
 */
export function registeredCounter<L extends string>(registry: Registry, spec: MetricSpec<L>): Counter<L> {
  return (registry.getSingleMetric(spec.name) as Counter<L> | undefined) ?? new Counter({ ...spec, registers: [registry] });
}

export function registeredGauge<L extends string>(registry: Registry, spec: MetricSpec<L>): Gauge<L> {
  return (registry.getSingleMetric(spec.name) as Gauge<L> | undefined) ?? new Gauge({ ...spec, registers: [registry] });
}
