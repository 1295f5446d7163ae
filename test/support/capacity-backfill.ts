// Backfills a synthetic history into a Prometheus TSDB the way an operator would: the raw series with
// `promtool tsdb create-blocks-from openmetrics`, then the recording rules with
// `promtool tsdb create-blocks-from rules` against a Prometheus serving what is there so far. A rule
// that reads another recorded series needs that series' blocks first, so the rules go in passes by
// their depth in the chain, with Prometheus restarted on the grown TSDB between passes.
// Needs the Debian package prometheus (prometheus and promtool). No root.
import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { RecordingRule, RuleGroup } from '../../alerts/src/types.js';
import type { Series } from './capacity-history.js';
import { startPrometheus, type PrometheusInstance } from './prometheus.js';

const run = promisify(execFile);

/** Retention is measured back from the newest sample: keep every backfilled block. */
export const BACKFILL_RETENTION = '--storage.tsdb.retention.time=20y';
/**
 * Blocks of the rule backfill: at a 5-minute rule interval a block's range query stays under
 * Prometheus's 11,000 points per series (486 h / 5 m = 5,832).
 */
const RULE_BLOCK = '486h';

/** Writes OpenMetrics text in pieces (a year of samples is hundreds of megabytes as one string). */
async function writeOpenMetrics(file: string, series: readonly Series[]): Promise<void> {
  const out = createWriteStream(file);
  const write = (text: string) => (out.write(text) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  const families = new Map<string, Series[]>();
  for (const s of series) families.set(s.name, [...(families.get(s.name) ?? []), s]);
  for (const [name, family] of families) {
    await write(`# TYPE ${name} gauge\n`);
    for (const s of family) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      const prefix = `${name}{${labels}} `;
      const lines: string[] = [];
      for (let i = 0; i < s.times.length; i++) {
        lines.push(`${prefix}${s.values[i]} ${s.times[i]}`);
        if (lines.length === 20_000) await write(`${lines.splice(0).join('\n')}\n`);
      }
      if (lines.length > 0) await write(`${lines.join('\n')}\n`);
    }
  }
  await write('# EOF\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Depth of each recording rule in the chain: 1 reads only raw series, n reads a rule of depth n − 1. */
export function recordingDepths(groups: readonly RuleGroup[]): Map<string, number> {
  const rules = groups.flatMap((g) => g.rules.filter((r): r is RecordingRule => 'record' in r));
  const names = new Set(rules.map((r) => r.record));
  const depth = new Map<string, number>();
  const reads = (rule: RecordingRule) => [...names].filter((n) => n !== rule.record && new RegExp(`(^|[^a-zA-Z0-9_:])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-zA-Z0-9_:])`).test(rule.expr));
  const resolve = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) throw new Error(`recording rules read each other in a loop through ${name}`);
    const own = rules.filter((r) => r.record === name);
    const d = 1 + Math.max(0, ...own.flatMap((r) => reads(r).map((n) => resolve(n, new Set([...seen, name])))));
    depth.set(name, d);
    return d;
  };
  for (const r of rules) resolve(r.record, new Set());
  return depth;
}

export interface Backfill {
  /** The TSDB directory, to start Prometheus on (storagePath). */
  storagePath: string;
  /** Seconds per step, for the test's report. */
  timings: Record<string, number>;
  cleanup: () => void;
}

/** Raw series, then the recording rules of `groups` (their own intervals) over [from, to]. */
export async function backfill(series: readonly Series[], groups: readonly RuleGroup[], from: number, to: number): Promise<Backfill> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-backfill-'));
  const storagePath = join(dir, 'tsdb');
  mkdirSync(storagePath);
  const timings: Record<string, number> = {};
  const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await step();
    timings[label] = Math.round(performance.now() - started) / 1000;
    return result;
  };
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const raw = join(dir, 'history.om');
    await timed('write OpenMetrics', () => writeOpenMetrics(raw, series));
    // The hidden --max-block-duration keeps it to a few blocks instead of one per 2 h.
    await timed('promtool openmetrics', () => run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', '--max-block-duration=2000h', raw, storagePath], { timeout: 120_000 }));
    rmSync(raw);

    const depths = recordingDepths(groups);
    const passes = Math.max(0, ...depths.values());
    for (let pass = 1; pass <= passes; pass++) {
      const passGroups = groups
        .map((g) => ({ ...g, rules: g.rules.filter((r) => 'record' in r && depths.get(r.record) === pass) }))
        .filter((g) => g.rules.length > 0);
      // Prometheus phases a group's evaluations by its name and file: one file for every pass keeps a
      // group's rules on the same evaluation times, as they are when Prometheus runs them together.
      const rulesFile = join(dir, 'capacity.yml');
      writeFileSync(rulesFile, stringify({ groups: passGroups }, { lineWidth: 0 }));
      const out = join(dir, `pass-${pass}`);
      const prometheus: PrometheusInstance = await startPrometheus({ storagePath, extraArgs: [BACKFILL_RETENTION] });
      try {
        await timed(`rules pass ${pass} (${passGroups.flatMap((g) => g.rules.map((r) => ('record' in r ? r.record : ''))).join(', ')})`, () =>
          run(
            'promtool',
            ['tsdb', 'create-blocks-from', 'rules', '--quiet', `--max-block-duration=${RULE_BLOCK}`, `--start=${from}`, `--end=${to}`, `--url=${prometheus.url}`, `--output-dir=${out}`, rulesFile],
            { timeout: 300_000 },
          ),
        );
      } finally {
        await prometheus.stop();
      }
      for (const block of readdirSync(out)) renameSync(join(out, block), join(storagePath, block));
    }
    return { storagePath, timings, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
