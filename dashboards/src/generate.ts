// Writes every dashboard to <uid>.json: `npm run dashboards:generate [-- --config overrides.json] [--out DIR]`.
// Without --config: from alerts/src/config.ts into dashboards/generated/ (committed; a test fails
// when regenerating changes them). With it: from the defaults with the file's overrides
// (alerts/src/overrides.ts), the same file the rules were generated with.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mixinFromArgs } from '../../alerts/src/mixin-args.js';
import { chooseMixinConfig } from './mixin-config.js';

const { config, outDir } = await mixinFromArgs(fileURLToPath(new URL('../generated/', import.meta.url)));
chooseMixinConfig(config);
// Loaded only now: the dashboard modules compute their queries from the chosen config.
const { renderDashboards } = await import('./render.js');
const files = renderDashboards();
const dir = resolve(outDir);
mkdirSync(dir, { recursive: true });
// A renamed dashboard must not leave its old file behind for Grafana to keep loading.
for (const stale of readdirSync(dir).filter((f) => f.endsWith('.json') && !files.has(f))) rmSync(join(dir, stale));
for (const [name, text] of files) writeFileSync(join(dir, name), text);
console.log(`wrote ${[...files.keys()].join(', ')} to ${dir}`);
