import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config-file.js';
import { loadConfigFile, parseConfigText } from '../../../agent/config/load.js';
import { parseDurationSeconds } from '../../../lib/units.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/config');
const EXAMPLES = join(import.meta.dirname, '../../../config/examples');
const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

/** Each bad fixture starts with one `# expect: <problem>` line per problem it must produce, in order. */
function expectedProblems(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('# expect: '))
    .map((line) => line.slice('# expect: '.length));
}

describe('config fixtures', () => {
  it.each(yamlFiles(join(FIXTURES, 'bad')))('bad/%s is rejected with its exact message', async (name) => {
    const file = join(FIXTURES, 'bad', name);
    const expected = expectedProblems(file);
    expect(expected.length).toBeGreaterThan(0);
    const error = await loadConfigFile(file).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(expected);
    expect((error as ConfigError).message).toContain(`invalid config ${file}:`);
  });

  // responder.yaml is the responder's own schema: test/responder/config.test.ts.
  it.each(yamlFiles(EXAMPLES).filter((f) => f !== 'responder.yaml'))('shipped example %s is valid', async (name) => {
    const config = await loadConfigFile(join(EXAMPLES, name));
    expect(config.targets.length).toBeGreaterThan(0);
  });

  it('reports a missing file by name', async () => {
    await expect(loadConfigFile('/nonexistent/linkmon.yaml')).rejects.toThrow('invalid config /nonexistent/linkmon.yaml:\n  - file not found');
  });
});

describe('config defaults', () => {
  it('applies module defaults before validation', () => {
    const config = parseConfigText(
      `site: { id: esb, name: ESB }\nmodules:\n  icmp: { kind: icmp }\n  web: { kind: http }\ntargets:\n  - { name: gw, module: icmp, host: 198.18.0.1 }\n`,
      'inline.yaml',
    );
    expect(config.listen).toEqual({ address: '0.0.0.0', port: 9470, max_requests: 40 });
    expect(config.log.level).toBe('info');
    expect(config.modules.icmp).toEqual({ kind: 'icmp', interval: 10, timeout: 2, packets: 10, payload_bytes: 56 });
    expect(config.modules.web).toMatchObject({ kind: 'http', interval: 30, timeout: 10, method: 'GET', expect_status: [], tls: { insecure_skip_verify: false } });
    expect(config.targets[0]!.labels).toEqual({});
  });
});

describe('durations (Prometheus grammar)', () => {
  it.each([
    ['500ms', 0.5],
    ['10s', 10],
    ['1s500ms', 1.5],
    ['5m', 300],
    ['1h', 3600],
    ['1h30m', 5400],
    ['1d', 86400],
    ['1w', 604800],
    ['0', 0],
  ])('%s is %d seconds', (text, seconds) => expect(parseDurationSeconds(text)).toBe(seconds));

  it.each(['10', '10 s', '-1s', 's', '1.5s', '30m1h', '1h1h', ' 5m', ''])('rejects "%s"', (text) => expect(parseDurationSeconds(text)).toBeUndefined());
});
