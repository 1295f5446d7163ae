import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentConfig } from './config/schema.js';

/**
 * A background part of the agent that is not an interval probe: the throughput test scheduler,
 * the SNMP poller. Built from each loaded config; stopped before a reload builds the next one.
 */
export interface AgentComponent {
  start(): Promise<void> | void;
  /** Must finish promptly (abort in-flight work); the agent bounds shutdown time. */
  stop(): Promise<void>;
  /** Its targets for the status page at `/`, when it has any (the throughput scheduler does). */
  targetStatus?(): ComponentTargetStatus[];
}

/** One row of the status page for a target a component runs. */
export interface ComponentTargetStatus {
  target: string;
  kind: string;
  address: string;
  labels: Record<string, string>;
  /** ok: the last run succeeded; fail: it did not; pending: no run yet. */
  state: 'ok' | 'fail' | 'pending';
  lastResult: string;
  lastSuccessAt?: Date;
  /** When the next run starts (undefined while stopping). */
  nextRunAt?: Date;
}

export interface ComponentContext {
  config: AgentConfig;
  /** The registry /metrics serves; create metrics on it, never on the global registry. */
  registry: Registry;
  log: Logger;
}

/** Returns undefined when the config does not use this component. */
export type ComponentFactory = (ctx: ComponentContext) => AgentComponent | undefined;
