// Writes the rule files: `npm run alerts:generate [-- --config overrides.json] [--out DIR]`.
// Without --config: alerts/src/config.ts as it is, into alerts/generated/ (committed). With it: the
// defaults with the file's overrides (alerts/src/overrides.ts).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mixinFromArgs } from './mixin-args.js';
import { renderRuleFiles } from './render.js';

const { config, outDir } = await mixinFromArgs(fileURLToPath(new URL('../generated/', import.meta.url)));
const files = renderRuleFiles(config);
const dir = resolve(outDir);
mkdirSync(dir, { recursive: true });
// Files of areas that no longer exist would still be loaded by Prometheus's glob.
for (const stale of readdirSync(dir).filter((f) => f.endsWith('.yml') && !(f in files))) rmSync(join(dir, stale));
for (const [name, text] of Object.entries(files)) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote ${join(dir, name)}`);
}
