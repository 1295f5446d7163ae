import type { ComponentFactory } from './component.js';
import { linkTermsComponent } from './capacity/terms.js';
import { pathTracingComponent } from './path-tracing/component.js';
import { snmpComponent } from './snmp/component.js';
import { createThroughputScheduler } from './throughput/scheduler.js';

/**
 * The agent's background components (agent/component.ts): parts that are not interval probes.
 * Each factory returns undefined when its config section is absent. The counterpart of the prober
 * registry in probes/registry.ts.
 */
export const COMPONENT_FACTORIES: readonly ComponentFactory[] = [createThroughputScheduler, snmpComponent, linkTermsComponent, pathTracingComponent];
