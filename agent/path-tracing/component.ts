import type { Registry } from 'prom-client';
import type { AgentComponent, ComponentFactory } from '../component.js';
import type { AgentConfig, TargetConfig } from '../config/schema.js';
import { extraLabelNames } from '../metrics.js';
import { nativeAddon, type NativeAddon } from '../probes/native/addon.js';
import { PathMetrics } from './metrics.js';
import { PathTracer, type TraceTarget, type TracerState } from './tracer.js';

/** What outlives one config: each target's last trace, and the series created (with their max_hops). */
interface RegistryState {
  metrics: PathMetrics;
  tracers: Map<string, TracerState>;
  series: Map<string, { labels: Record<string, string>; maxHops: number }>;
}
const registryStates = new WeakMap<Registry, RegistryState>();

/**
 * The path tracing component (docs/path-tracing.md): one PathTracer per `path_tracing.targets`
 * entry, their first traces spread over the interval. Without the native addon it does not run:
 * linkmon_path_tracing_available is 0 and one log line says why.
 */
export function createPathTracing(addonOf: () => NativeAddon | undefined = nativeAddon): ComponentFactory {
  return ({ config, registry, log }) => {
    const section = config.path_tracing;
    let state = registryStates.get(registry);
    if (!section && !state) return undefined;
    state ??= { metrics: new PathMetrics(registry, ['target', ...extraLabelNames(config.targets)]), tracers: new Map(), series: new Map() };
    registryStates.set(registry, state);
    const targets = section ? section.targets.map((name) => traceTarget(config, name)) : [];
    syncSeries(state, targets, section?.max_hops ?? 0);
    if (!section) return undefined;

    const addon = addonOf();
    state.metrics.available.set(addon ? 1 : 0);
    if (!addon) {
      log.error({ component: 'path_tracing' }, 'path tracing unavailable: the native addon is not built (agent/probes/native: npm run build:native); everything else runs');
      return undefined;
    }
    const kept = new Map<string, TracerState>();
    const tracers = targets.map((target, index) => {
      const tracerState = state.tracers.get(tracerKey(target, config)) ?? {};
      kept.set(tracerKey(target, config), tracerState);
      return new PathTracer(target, section, addon, state.metrics, tracerState, log, (index * section.interval) / targets.length);
    });
    state.tracers = kept;
    const component: AgentComponent = {
      start: () => tracers.forEach((tracer) => tracer.start()),
      stop: async () => {
        await Promise.all(tracers.map((tracer) => tracer.stop()));
      },
    };
    return component;
  };
}

export const pathTracingComponent = createPathTracing();

function traceTarget(config: AgentConfig, name: string): TraceTarget {
  const target = config.targets.find((t) => t.name === name)!;
  return { name, host: hostOf(target), labels: { target: name, ...target.labels } };
}

/** The host to trace: the target's host, or its URL's (http, throughput). */
function hostOf(target: TargetConfig): string {
  if (target.host) return target.host;
  return new URL(target.url ?? '').hostname.replace(/^\[(.*)\]$/, '$1');
}

/** A target's last trace is only compared with the next one while it goes to the same place. */
function tracerKey(target: TraceTarget, config: AgentConfig): string {
  return JSON.stringify([target.name, target.host, config.path_tracing?.port]);
}

/** Zeroes the series of new targets, removes those of targets no longer traced or hops beyond a lower max_hops. */
function syncSeries(state: RegistryState, targets: readonly TraceTarget[], maxHops: number): void {
  const wanted = new Map(targets.map((t) => [t.name, t.labels]));
  for (const [name, existing] of state.series) {
    const labels = wanted.get(name);
    if (!labels || JSON.stringify(labels) !== JSON.stringify(existing.labels) || existing.maxHops !== maxHops) {
      state.metrics.removeTarget(existing.labels, existing.maxHops);
      state.series.delete(name);
    }
  }
  for (const [name, labels] of wanted) {
    if (state.series.has(name)) continue;
    state.metrics.addTarget(labels, maxHops);
    state.series.set(name, { labels, maxHops });
  }
}
