/**
 * The module kinds: the values of the `kind` label that every reader of the metric contract
 * (alerts, dashboards) selects on, and how each kind runs. The agent's config schema and prober
 * registry are checked against this table at compile time.
 */
export const KINDS = {
  icmp: { runs: 'interval' },
  tcp: { runs: 'interval' },
  http: { runs: 'interval' },
  /** Scheduled by cron in the agent's throughput component, never by the interval scheduler. */
  throughput: { runs: 'cron' },
  udp: { runs: 'interval' },
  dns: { runs: 'interval' },
} as const satisfies Record<string, { runs: 'interval' | 'cron' }>;

export type ModuleKind = keyof typeof KINDS;
/** Kinds the interval scheduler probes continuously, each attempt counted in linkmon_probe_attempts_total. */
export type IntervalKind = { [K in ModuleKind]: (typeof KINDS)[K]['runs'] extends 'interval' ? K : never }[ModuleKind];

export const MODULE_KINDS = Object.keys(KINDS) as ModuleKind[];
export const INTERVAL_KINDS = MODULE_KINDS.filter(isIntervalKind);

export function isIntervalKind(kind: ModuleKind): kind is IntervalKind {
  return KINDS[kind].runs === 'interval';
}
