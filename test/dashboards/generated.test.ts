// The committed dashboards/generated/*.json must be exactly what dashboards/src/generate.ts
// produces: edit the TypeScript, run `npx tsx dashboards/src/generate.ts`, commit both.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDashboards } from '../../dashboards/src/render.js';
import { GENERATED_DIR } from './dashboard-queries.js';

describe('generated dashboards', () => {
  it('regenerating produces exactly the committed JSON, and no other JSON is committed', () => {
    const rendered = renderDashboards();
    const committed = readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) {
      expect(readFileSync(join(GENERATED_DIR, name), 'utf8'), `${name} is stale: run npx tsx dashboards/src/generate.ts`).toBe(text);
    }
  });

  it('is deterministic: two runs give the same bytes', () => {
    expect([...renderDashboards()]).toEqual([...renderDashboards()]);
  });
});
