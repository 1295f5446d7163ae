// Hostile and odd inputs to the one YAML config reader (issue #13): each is a ConfigError naming
// the problem, never a hang, a crash or a huge read.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../agent/config/load.js';
import { ConfigError, MAX_CONFIG_FILE_BYTES, MAX_YAML_NESTING, parseYamlMapping, readConfigText } from '../../lib/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'linkmon-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problemsOf = async (run: () => unknown): Promise<string[]> => {
  try {
    await run();
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('readConfigText', () => {
  it('reads only regular files: a FIFO, /dev/zero and a directory are refused at once', async () => {
    const fifo = join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const file of [fifo, '/dev/zero']) {
      expect(await problemsOf(() => readConfigText(file))).toEqual(['not a regular file (a device, FIFO or socket is never read)']);
    }
    expect(await problemsOf(() => readConfigText(dir))).toEqual(['is a directory, not a file']);
  });

  it(`refuses a file above ${MAX_CONFIG_FILE_BYTES} bytes without reading it`, async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1, 0x23));
    expect(await problemsOf(() => readConfigText(big))).toEqual([`file is ${MAX_CONFIG_FILE_BYTES + 1} bytes, above the limit of ${MAX_CONFIG_FILE_BYTES}`]);
  });
});

describe('parseYamlMapping', () => {
  it('loads 101 targets sharing one anchored labels map (more aliases than the yaml default of 100)', () => {
    const targets = Array.from({ length: 101 }, (_, i) => `  - { name: t${i}, module: tcp, host: 198.18.0.${(i % 250) + 1}, labels: ${i === 0 ? '&common { link: hsl }' : '*common'} }`);
    const config = parseConfigText(`site: { id: esb, name: ESB }\nmodules:\n  tcp: { kind: tcp, port: 22 }\ntargets:\n${targets.join('\n')}\n`, 'aliases.yaml');
    expect(config.targets).toHaveLength(101);
    expect(config.targets[100]!.labels).toEqual({ link: 'hsl' });
  });

  it('honours merge keys for shared module settings', () => {
    const config = parseConfigText(
      `site: { id: esb, name: ESB }\nmodules:\n  base: &base { kind: tcp, interval: 5s, port: 22 }\n  a: { <<: *base, timeout: 1s }\ntargets:\n  - { name: t, module: a, host: 198.18.0.1 }\n`,
      'merge.yaml',
    ).modules.a;
    expect(config).toMatchObject({ kind: 'tcp', interval: 5, timeout: 1, port: 22 });
  });

  it(`refuses nesting deeper than ${MAX_YAML_NESTING} levels before the composer recurses into it`, () => {
    const deep = `site: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    expect(() => parseYamlMapping(deep, 'deep.yaml')).toThrow(`YAML nesting deeper than ${MAX_YAML_NESTING} levels at line 1, column`);
    const block = Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k:`).join('\n');
    expect(() => parseYamlMapping(block, 'block.yaml')).toThrow(`YAML nesting deeper than ${MAX_YAML_NESTING} levels`);
  });

  it('a byte-order mark is fine; binary, tabs and several documents are problems with a line', async () => {
    expect(parseYamlMapping('\uFEFFa: 1\n', 'bom.yaml')).toEqual({ a: 1 });
    expect((await problemsOf(() => parseYamlMapping('a: 1\n\tb: [\n', 'tab.yaml')))[0]).toMatch(/^YAML syntax at line 2, column 1: /);
    expect(await problemsOf(() => parseYamlMapping('a: 1\n---\nb: 2\n', 'two.yaml'))).toEqual(['expected one YAML document, found 2 (separated by "---")']);
    expect(await problemsOf(() => parseYamlMapping('', 'empty.yaml'))).toEqual(['expected a YAML mapping at the top level']);
  });
});
