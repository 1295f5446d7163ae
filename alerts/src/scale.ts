import { parseDurationSeconds } from '../../lib/units.js';

/**
 * A copy of `value` (the alerts config, or an Alertmanager route) with every Prometheus duration
 * string multiplied by `factor` and rounded up to whole seconds, at least `minSeconds`. Every
 * window, `for` and interval shrinks together, so the rules keep their logic and their order of
 * firing; end-to-end tests use it to see minutes of behaviour in seconds.
 */
export function scaleDurations<T>(value: T, factor: number, minSeconds = 1): T {
  const seconds = typeof value === 'string' ? parseDurationSeconds(value) : undefined;
  if (seconds !== undefined) return `${Math.max(minSeconds, Math.ceil(seconds * factor))}s` as T;
  if (Array.isArray(value)) return value.map((item: unknown) => scaleDurations(item, factor, minSeconds)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scaleDurations(item, factor, minSeconds)])) as T;
  }
  return value;
}
