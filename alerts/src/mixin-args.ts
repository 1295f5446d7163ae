import { parseArgs } from 'node:util';
import { ConfigError } from '../../lib/config-file.js';
import { alertsConfig, type AlertsConfig } from './config.js';
import { loadMixinConfig } from './overrides.js';

/**
 * The generators' command line (alerts and dashboards alike): `--config FILE`, overrides of
 * alerts/src/config.ts (alerts/src/overrides.ts), and `--out DIR`. A bad argument or overrides file
 * ends the process with exit code 2 and every problem, never a stack trace.
 */
export async function mixinFromArgs(defaultOutDir: string): Promise<{ config: AlertsConfig; outDir: string }> {
  let values: { config?: string; out?: string };
  try {
    ({ values } = parseArgs({ options: { config: { type: 'string' }, out: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    return exit(`${(err as Error).message}\nusage: [--config overrides.json] [--out DIR]`);
  }
  try {
    return { config: values.config ? await loadMixinConfig(values.config) : alertsConfig, outDir: values.out ?? defaultOutDir };
  } catch (err) {
    if (err instanceof ConfigError) return exit(err.message);
    throw err;
  }
}

function exit(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
