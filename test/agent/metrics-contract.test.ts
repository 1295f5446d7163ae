import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const SOURCE_DIRS = ['lib', 'web', 'agent', 'responder'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Metric names as prom-client is given them: `name: 'linkmon_…'`. */
function metricsDefinedInCode(): Set<string> {
  const names = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/name:\s*['"`](linkmon_[a-z0-9_]+)['"`]/g)) names.add(match[1]!);
    }
  }
  return names;
}

/** Names in the first column of the tables in docs/metrics.md. */
function metricsDocumented(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  return new Set([...doc.matchAll(/^\| `(linkmon_[a-z0-9_]+)` \|/gm)].map((m) => m[1]!));
}

describe('docs/metrics.md is the contract', () => {
  it('documents every metric the code defines', () => {
    const undocumented = [...metricsDefinedInCode()].filter((name) => !metricsDocumented().has(name));
    expect(undocumented).toEqual([]);
  });

  it('documents no metric the code does not define', () => {
    const defined = metricsDefinedInCode();
    expect([...metricsDocumented()].filter((name) => !defined.has(name))).toEqual([]);
  });

  it('follows the naming conventions: counters end in _total, no unit-less time or size names', () => {
    const doc = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
    for (const [, name, type] of doc.matchAll(/^\| `(linkmon_[a-z0-9_]+)` \| (\w+) \|/gm)) {
      if (type === 'counter') expect(name, `${name} is a counter`).toMatch(/_total$/);
      else expect(name, `${name} is a ${type}`).not.toMatch(/_total$/);
      expect(name).not.toMatch(/_(ms|milliseconds|bits|kbps|mbps|percent)(_|$)/);
    }
  });
});
