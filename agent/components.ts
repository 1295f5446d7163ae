import type { ModuleKind } from '../lib/kinds.js';
import type { ComponentFactory } from './component.js';
import type { AgentConfig } from './config/schema.js';

/** Top-level config sections that may be absent. */
type OptionalSection = { [S in keyof AgentConfig]-?: undefined extends AgentConfig[S] ? S : never }[keyof AgentConfig];

/** A background component and what switches it on: a target probed with one of `kinds`, or a config `section`. */
export interface ComponentRegistration {
  name: string;
  uses: { kinds: readonly ModuleKind[] } | { section: OptionalSection };
  load(): Promise<ComponentFactory>;
}

/**
 * The agent's background components (agent/component.ts): parts that are not interval probes.
 * The counterpart of the prober registry in probes/registry.ts. A component's module is imported
 * only when a config first uses it (throughput brings node-cron and undici, SNMP net-snmp; see
 * bench/results/memory-analysis.md); from then on its factory sees every config, so a reload that
 * drops the section removes its series. Each factory returns undefined when it has nothing to run.
 */
export const COMPONENTS: readonly ComponentRegistration[] = [
  { name: 'throughput', uses: { kinds: ['throughput'] }, load: async () => (await import('./throughput/scheduler.js')).createThroughputScheduler },
  { name: 'snmp', uses: { section: 'snmp' }, load: async () => (await import('./snmp/component.js')).snmpComponent },
  { name: 'link terms', uses: { section: 'links' }, load: async () => (await import('./capacity/terms.js')).linkTermsComponent },
  { name: 'path tracing', uses: { section: 'path_tracing' }, load: async () => (await import('./path-tracing/component.js')).pathTracingComponent },
];

export function componentUsedBy(registration: ComponentRegistration, config: AgentConfig): boolean {
  const { uses } = registration;
  if ('section' in uses) return config[uses.section] !== undefined;
  return config.targets.some((target) => {
    const kind = config.modules[target.module]?.kind;
    return kind !== undefined && uses.kinds.includes(kind);
  });
}
