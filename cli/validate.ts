import { parseYamlMapping, readConfigText } from '../lib/config-file.js';
import { parseConfigText } from '../agent/config/load.js';
import { estimateSeries } from '../agent/config/series.js';
import { parseResponderConfigText, resolveResponderConfig } from '../responder/config.js';

/**
 * `linkmon validate --config FILE`: every check the agent (or responder) makes at start and on
 * reload, without starting. A file with `auth:` and no `site:` is a responder config. Returns the
 * line to print; throws ConfigError.
 */
export async function validateConfigFile(file: string): Promise<string> {
  const text = await readConfigText(file);
  const raw = parseYamlMapping(text, file);
  if (!('site' in raw) && 'auth' in raw) {
    const config = await resolveResponderConfig(parseResponderConfigText(text, file), file);
    const listeners = (['http', 'https', 'tcp', 'udp'] as const).filter((name) => name === 'https' ? config.https : config[name].enabled);
    return `${file}: valid responder config (${listeners.join(', ')} on ${config.listen.address}, ${config.tokens.length} tokens)`;
  }
  const config = parseConfigText(text, file);
  const series = estimateSeries(config);
  return `${file}: valid (site ${config.site.id}, ${Object.keys(config.modules).length} modules, ${config.targets.length} targets, about ${series} series of at most ${config.limits.max_series})`;
}
