import { alertsConfig, type AlertsConfig } from '../../alerts/src/config.js';

/**
 * The config the dashboards are built from: the defaults of alerts/src/config.ts, or a user's
 * overrides (alerts/src/overrides.ts) that generate.ts --config chooses before it loads the
 * dashboard modules, whose module-level queries and thresholds are computed from it once. One
 * config per process; choosing after the dashboards were built is a bug, and throws.
 */
let chosen: AlertsConfig | undefined;
let used = false;

export function mixinConfig(): AlertsConfig {
  used = true;
  return chosen ?? alertsConfig;
}

export function chooseMixinConfig(config: AlertsConfig): void {
  if (used) throw new Error('chooseMixinConfig: the dashboards were already built from another config');
  chosen = config;
}
