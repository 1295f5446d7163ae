import { stat } from 'node:fs/promises';
import { ConfigError, parseYamlMapping, readConfigText } from '../lib/config-file.js';
import { parseConfigText } from '../agent/config/load.js';
import { estimateSeries } from '../agent/config/series.js';
import { parseResponderConfigText, resolveResponderConfig, type ResponderConfigFile } from '../responder/config.js';

/**
 * `linkmon validate --config FILE`: every check the agent (or responder) makes at start and on
 * reload, without starting. A file with `auth:` and no `site:` is a responder config. Returns the
 * lines to print; throws ConfigError.
 *
 * A responder config names secrets (token file, token variable, TLS files) that often live only on
 * the host it is for: validating the file on another machine (the shipped examples, a review, the
 * Debian package's default) must not fail for that. A named file that does not exist here, or a
 * variable that is not set, is reported as not checked; one that exists is checked in full.
 */
export async function validateConfigFile(file: string): Promise<string> {
  const text = await readConfigText(file);
  const raw = parseYamlMapping(text, file);
  if (!('site' in raw) && 'auth' in raw) {
    const config = parseResponderConfigText(text, file);
    const absent = await absentSecrets(config);
    let tokens: number | undefined;
    try {
      tokens = (await resolveResponderConfig(config, file)).tokens.length;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Problems start with the field they are about ("auth.token_file: …"); those of absent secrets are not problems here.
      const problems = err.problems.filter((problem) => !absent.some((a) => problem.startsWith(`${a.field}:`)) && !(absent.some((a) => a.field.startsWith('auth.')) && problem.startsWith('auth: ')));
      if (problems.length > 0) throw new ConfigError(file, problems);
    }
    const listeners = (['http', 'https', 'tcp', 'udp'] as const).filter((name) => (name === 'https' ? config.https : config[name].enabled));
    return [
      `${file}: valid responder config (${listeners.join(', ')} on ${config.listen.address}${tokens === undefined ? '' : `, ${tokens} tokens`})`,
      ...absent.map((a) => `  not checked here: ${a.field} ${a.what} (${a.why}); the responder reads it at start`),
    ].join('\n');
  }
  const config = parseConfigText(text, file);
  const series = estimateSeries(config);
  return `${file}: valid (site ${config.site.id}, ${Object.keys(config.modules).length} modules, ${config.targets.length} targets, about ${series} series of at most ${config.limits.max_series})`;
}

interface AbsentSecret {
  field: string;
  what: string;
  why: string;
}

async function absentSecrets(config: ResponderConfigFile, env: NodeJS.ProcessEnv = process.env): Promise<AbsentSecret[]> {
  const missing = async (path: string) => (await stat(path).catch((err: NodeJS.ErrnoException) => err.code)) === 'ENOENT';
  const files: Array<[string, string | undefined]> = [
    ['auth.token_file', config.auth.token_file],
    ['https.cert_file', config.https?.cert_file],
    ['https.key_file', config.https?.key_file],
  ];
  const absent: AbsentSecret[] = [];
  for (const [field, path] of files) if (path !== undefined && (await missing(path))) absent.push({ field, what: path, why: 'no such file on this machine' });
  const variable = config.auth.token_env;
  if (variable !== undefined && (env[variable] ?? '').trim() === '') absent.push({ field: 'auth.token_env', what: variable, why: 'not set here' });
  return absent;
}
