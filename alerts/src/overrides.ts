import { ConfigError, parseYamlMapping, readConfigText } from '../../lib/config-file.js';
import { INTERVAL_KINDS } from '../../lib/kinds.js';
import { parseDurationSeconds } from '../../lib/units.js';
import { alertsConfig, type AlertsConfig } from './config.js';

/**
 * A user's changes to `alertsConfig`, the monitoring-mixin way: a YAML or JSON file holding any
 * part of the config object, at any depth (`agentSelector`, `runbookBaseUrl`, `loss.thresholds.hsl`,
 * `reachability.for`, …). Fields the file leaves out keep their defaults; arrays are replaced
 * whole. Each value is checked against what it replaces: the same type, a Prometheus duration
 * where the default is one, label matchers for selectors, a probe kind in kind lists. Tables keyed
 * by link (`default` plus one entry per `link` label value) accept new links.
 *
 * `npm run alerts:generate -- --config overrides.json` and `npm run dashboards:generate -- --config
 * overrides.json` read the same file.
 */
export async function loadMixinConfig(file: string): Promise<AlertsConfig> {
  return applyOverrides(alertsConfig, parseYamlMapping(await readConfigText(file), file), file);
}

/** The defaults with the overrides applied; throws ConfigError listing every problem. */
export function applyOverrides(defaults: AlertsConfig, overrides: Record<string, unknown>, file: string): AlertsConfig {
  const problems: string[] = [];
  const merged = merge(defaults, overrides, '', problems) as AlertsConfig;
  if (problems.length > 0) throw new ConfigError(file, problems);
  return merged;
}

/** `job="linkmon"`, `job=~"linkmon|agents", env!="lab"`: label matchers as inside `{…}`. */
const LABEL_MATCHERS = /^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*(,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*)*$/;
/** A `link` label value (a key of a per-link table). */
const LINK_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;

function merge(base: unknown, override: unknown, path: string, problems: string[]): unknown {
  const where = path === '' ? 'the top level' : path;
  if (isMapping(base)) {
    if (!isMapping(override)) return problem(problems, base, `${where}: expected a mapping, got ${describe(override)}`);
    // A per-link threshold table: `default` plus an entry per link; new links take default's shape.
    const perLink = 'default' in base;
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (key in base) out[key] = merge(base[key], value, at, problems);
      else if (perLink && LINK_VALUE.test(key)) out[key] = merge(base.default, value, at, problems);
      else problems.push(`${at}: unknown field${perLink ? ` (a link name is 1-64 letters, digits, "_", ".", ":" or "-")` : `; expected one of ${Object.keys(base).join(', ')}`}`);
    }
    return out;
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(override) || override.length === 0) return problem(problems, base, `${path}: expected a non-empty list, got ${describe(override)}`);
    const element: unknown = base[0];
    return override.map((item, i) => {
      const at = `${path}[${i}]`;
      if (path.endsWith('kinds') || path.endsWith('Kinds')) return kind(item, at, problems);
      // A list element is a whole new entry (a burn-rate window): every field, none taken from the first default.
      if (isMapping(element) && isMapping(item)) {
        const missing = Object.keys(element).filter((key) => !(key in item));
        if (missing.length > 0) return problem(problems, element, `${at}: expected every field of an entry, missing ${missing.join(', ')}`);
      }
      return merge(element, item, at, problems);
    });
  }
  if (typeof base === 'number') {
    if (typeof override !== 'number' || !Number.isFinite(override) || override < 0) return problem(problems, base, `${path}: expected a number of at least 0, got ${describe(override)}`);
    return override;
  }
  if (typeof base === 'string') {
    if (typeof override !== 'string' || override === '') return problem(problems, base, `${path}: expected a non-empty string, got ${describe(override)}`);
    if (parseDurationSeconds(base) !== undefined && parseDurationSeconds(override) === undefined) {
      return problem(problems, base, `${path}: expected a Prometheus duration such as "30s", "5m" or "1h30m", got "${override}"`);
    }
    if (path.endsWith('Selector') && !LABEL_MATCHERS.test(override)) {
      return problem(problems, base, `${path}: expected label matchers such as job="linkmon-agents" (as inside {…}), got ${JSON.stringify(override)}`);
    }
    if (path === 'runbookBaseUrl') return runbookBase(override, base, problems);
    return override;
  }
  return override;
}

function kind(item: unknown, path: string, problems: string[]): unknown {
  if (typeof item === 'string' && (INTERVAL_KINDS as readonly string[]).includes(item)) return item;
  return problem(problems, item, `${path}: expected one of ${INTERVAL_KINDS.join(', ')}, got ${describe(item)}`);
}

/** runbook_url = `<base>/<area>.md#<alert>`: an http(s) URL, without a trailing slash. */
function runbookBase(text: string, fallback: string, problems: string[]): string {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return text.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  return problem(problems, fallback, `runbookBaseUrl: expected an http(s) URL of the folder holding the runbooks (docs/runbooks), got "${text}"`) as string;
}

function problem(problems: string[], keep: unknown, message: string): unknown {
  problems.push(message);
  return keep;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? `"${value}"` : typeof value === 'object' ? 'a mapping' : `${typeof value} ${String(value)}`;
}
