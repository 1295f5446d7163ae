// Writes alerts/generated/*.yml from alerts/src/config.ts: `npx tsx alerts/src/generate.ts`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { alertsConfig } from './config.js';
import { renderRuleFiles } from './render.js';

const GENERATED_DIR = fileURLToPath(new URL('../generated/', import.meta.url));

const files = renderRuleFiles(alertsConfig);
mkdirSync(GENERATED_DIR, { recursive: true });
// Files of areas that no longer exist would still be loaded by Prometheus's glob.
for (const stale of readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.yml') && !(f in files))) rmSync(`${GENERATED_DIR}${stale}`);
for (const [name, text] of Object.entries(files)) {
  writeFileSync(`${GENERATED_DIR}${name}`, text);
  console.log(`wrote alerts/generated/${name}`);
}
