// Property-based config fuzzing (issue #13): generated documents, valid and broken, and YAML oddities
// end in a valid config or a ConfigError whose every line names the field (the CLI's exit 2), never
// another exception (exit 1 with a stack trace) or a slow parse. The bulk runs in-process; a few
// generated files go through the real CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../agent/config/load.js';
import { ConfigError } from '../../../lib/config-file.js';
import { REPO_ROOT } from '../../support/linkmon-process.js';

/** A problem line names a field path (`targets[2].host: ...`) or is about the file as a whole. */
const PATH = String.raw`([a-z_][A-Za-z0-9_-]*|\[\d+\]|\["[^"]*"\])(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\[".*?"\])*`;
const PROBLEM_LINE = new RegExp(`^((${PATH}: )?unknown fields? |${PATH}: |YAML |expected (one YAML document|a YAML mapping))`);
const SEED = Number(process.env.LINKMON_FUZZ_SEED ?? 13);

const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.constantFrom('', '0', '-1', '1e999', '10x', '5m', '500ms', 'NaN', '999999999999999999999', '::1', '0.0.0.0', '*', '__proto__', 'constructor'),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: junk });
const duration = fc.constantFrom('100ms', '500ms', '1s', '5s', '10s', '1m', '1h', '0', '700ms', '2s500ms');
const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
const host = fc.constantFrom('198.18.0.1', '127.0.0.1', '::1', 'hsl-router.example', 'a..b', '');

const moduleArb = fc.oneof(
  fc.record({ kind: fc.constant('icmp'), interval: maybe(duration), timeout: maybe(duration), packets: maybe(fc.integer({ min: 0, max: 2000 })), payload_bytes: maybe(fc.integer({ min: -1, max: 2000 })), ip_version: maybe(fc.constantFrom(4, 6)) }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('tcp'), interval: maybe(duration), timeout: maybe(duration), port: maybe(fc.integer({ min: 0, max: 70000 })) }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('http'), interval: maybe(duration), timeout: maybe(duration), method: maybe(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT')), expect_status: maybe(fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 3 })), expect_body: maybe(fc.constantFrom('^ok$', '(', '[a-z]+', '(a+)+$')), headers: maybe(fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })), tls: maybe(fc.record({ insecure_skip_verify: maybe(fc.boolean()), ca_file: maybe(fc.constant('/nonexistent/ca.pem')) }, { requiredKeys: [] })) }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('udp'), interval: maybe(duration), timeout: maybe(duration), packets: maybe(fc.integer({ min: 0, max: 200_000 })), packet_bytes: maybe(fc.integer({ min: 0, max: 2000 })), port: maybe(fc.integer({ min: 0, max: 70000 })) }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('throughput'), schedule: maybe(fc.constantFrom('0 * * * *', '*/10 * * * * *', '61 * * * *', 'daily', '')), timezone: maybe(fc.constantFrom('UTC', 'Europe/London', 'Mars/Olympus')), bytes: maybe(fc.constantFrom('10MB', '1GiB', 5, '-1')), duration: maybe(duration), streams: maybe(fc.integer({ min: 0, max: 100 })), token_env: maybe(fc.constantFrom('LINKMON_TOKEN', '1BAD')) }, { requiredKeys: ['kind', 'schedule'] }),
  junk,
);

const wildConfigArb = fc
  .record({
    site: maybe(fc.record({ id: maybe(fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/)), name: maybe(fc.string({ minLength: 1, maxLength: 20 })) })),
    listen: maybe(fc.record({ address: maybe(host), port: maybe(fc.integer({ min: -1, max: 70000 })) }, { requiredKeys: [] })),
    modules: maybe(fc.dictionary(name, moduleArb, { minKeys: 1, maxKeys: 4 })),
    targetCount: fc.integer({ min: 0, max: 6 }),
    targetSeeds: fc.array(fc.record({ name: maybe(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)), host: maybe(host), port: maybe(fc.integer({ min: 0, max: 70000 })), url: maybe(fc.constantFrom('http://198.18.0.1:9480/latency', 'ftp://x', 'not a url')), labels: maybe(fc.dictionary(fc.stringMatching(/^[a-z_]{1,6}$/), fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxKeys: 2 })) }, { requiredKeys: [] }), { maxLength: 6 }),
    limits: fc.option(fc.record({ max_targets: maybe(fc.integer({ min: 0, max: 10 })), max_series: maybe(fc.integer({ min: 0, max: 5000 })) }, { requiredKeys: [] }), { nil: undefined }),
    extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), junk, { maxKeys: 2 }), { nil: undefined }),
  })
  .map(({ targetSeeds, targetCount, modules, extra, limits, ...rest }) => {
    const moduleNames = modules && typeof modules === 'object' && !Array.isArray(modules) ? Object.keys(modules) : ['none'];
    const targets = targetSeeds.slice(0, targetCount).map((seed, i) => ({ module: moduleNames[i % moduleNames.length], ...seed }));
    return { ...rest, modules, targets, ...(limits ? { limits } : {}), ...extra };
  });

/** Configs the schema accepts (before a mutation may break one field): valid values, targets shaped for their module's kind. */
const goodModule = fc.oneof(
  fc.record({ kind: fc.constant('icmp'), interval: fc.constantFrom('5s', '10s'), timeout: fc.constantFrom('1s', '2s'), packets: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('tcp'), interval: fc.constantFrom('1s', '15s'), timeout: fc.constantFrom('500ms', '700ms', '1s'), port: fc.integer({ min: 1, max: 65535 }) }),
  fc.record({ kind: fc.constant('http'), interval: fc.constantFrom('10s', '30s'), timeout: fc.constantFrom('5s', '10s'), expect_status: fc.array(fc.integer({ min: 200, max: 599 }), { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('udp'), interval: fc.constantFrom('10s'), packets: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ kind: fc.constant('throughput'), schedule: fc.constantFrom('0 * * * *', '30 2 * * 1-5'), bytes: fc.constantFrom('10MB', '100MB'), token_env: fc.constant('LINKMON_TOKEN') }),
);
const validConfigArb = fc
  .record({
    site: fc.record({ id: fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/), name: fc.string({ minLength: 1, maxLength: 20 }) }),
    listen: fc.record({ address: fc.constantFrom('0.0.0.0', '127.0.0.1', '::'), port: fc.integer({ min: 0, max: 65535 }) }),
    modules: fc.dictionary(name, goodModule, { minKeys: 1, maxKeys: 4 }),
    targetCount: fc.integer({ min: 1, max: 8 }),
    labels: fc.option(fc.record({ link: fc.constantFrom('hsl', 'wan') }), { nil: undefined }),
    mutation: fc.option(fc.tuple(fc.constantFrom('site', 'listen', 'modules', 'targets', 'limits', 'snmp'), junk), { freq: 3, nil: undefined }),
  })
  .map(({ site, listen, modules, targetCount, labels, mutation }) => {
    const names = Object.keys(modules);
    const targets = Array.from({ length: targetCount }, (_, i) => {
      const moduleName = names[i % names.length]!;
      const byUrl = ['http', 'throughput'].includes(modules[moduleName]!.kind);
      // Repeated labels objects become an anchor and aliases in the YAML.
      return { name: `t${i}`, module: moduleName, ...(byUrl ? { url: `http://198.18.0.${i + 1}:9480/latency` } : { host: `198.18.0.${i + 1}` }), ...(labels ? { labels } : {}) };
    });
    const config: Record<string, unknown> = { site, listen, modules, targets };
    if (mutation) config[mutation[0]] = mutation[1];
    return config;
  });

const configArb = fc.oneof(validConfigArb, wildConfigArb);

/** Serialises a generated config; repeated objects become anchors and aliases. */
const asYaml = (value: unknown) => stringify(value, { aliasDuplicateObjects: true });

/** YAML oddities wrapped around (or instead of) a generated document. */
const oddity = fc.oneof(
  configArb.map(asYaml),
  configArb.map((c) => `\uFEFF${asYaml(c)}`),
  configArb.map((c) => `${asYaml(c)}---\n${asYaml(c)}`),
  configArb.map((c) => `defaults: &d { kind: tcp, port: 22, interval: 5s }\n${asYaml(c)}`.replace(/^modules:\n/m, 'modules:\n  merged: { <<: *d, timeout: 1s }\n')),
  fc.integer({ min: 1, max: 200 }).map((depth) => `site: ${'['.repeat(depth)}${']'.repeat(depth)}\n`),
  fc.integer({ min: 1, max: 200 }).map((depth) => Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')),
  fc.integer({ min: 1, max: 12 }).map((levels) => ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: levels }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`)].join('\n')),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('a: &x [*x]\n', 'site: &s { id: *s }\n', 'site: !!binary aGVsbG8=\n', 'site: !!set { a, b }\n', '? [a, b]\n: 1\n', '*undefined_alias\n', '%YAML 1.1\n---\nsite: x\n', 'site: !!js/function "x"\n', '__proto__: { polluted: true }\n'),
);

/** True for a valid config; a ConfigError must name the field in every line. */
function check(text: string): boolean {
  const started = performance.now();
  let valid = true;
  try {
    parseConfigText(text, 'fuzz.yaml');
  } catch (err) {
    valid = false;
    if (!(err instanceof ConfigError)) throw new Error(`not a ConfigError for:\n${text.slice(0, 500)}\n${String((err as Error).stack)}`);
    expect(err.problems.length).toBeGreaterThan(0);
    for (const problem of err.problems) expect(problem, `for:\n${text.slice(0, 500)}`).toMatch(PROBLEM_LINE);
  }
  // A wall-clock bound, not a performance figure: a parse that takes seconds is a hang in waiting.
  expect(performance.now() - started, `parse time for:\n${text.slice(0, 300)}`).toBeLessThan(5000);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  return valid;
}

describe('config fuzzing (fast-check)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('1,600 generated documents: valid config or ConfigError naming the field', () => {
    let valid = 0;
    fc.assert(
      fc.property(configArb, (config) => {
        if (check(asYaml(config))) valid += 1;
      }),
      { numRuns: 1600, seed: SEED },
    );
    // The generator must reach valid configs too, or it only tests the error paths.
    expect(valid).toBeGreaterThan(200);
  });

  it('1,000 YAML oddities: aliases, merge keys, deep nesting, binary, BOM, several documents, tags', () => {
    fc.assert(fc.property(oddity, (text) => void check(text)), { numRuns: 1000, seed: SEED });
  });

  it('the real CLI on a few of them: exit 0 or 2, no stack trace, no slower than 5 s past a bare start', async () => {
    const run = async (args: string[]) => {
      const started = performance.now();
      const child = spawn(process.execPath, ['--import', 'tsx', 'cli/linkmon.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { code, stderr, seconds: (performance.now() - started) / 1000 };
    };
    const files = fc.sample(oddity, { numRuns: 3, seed: SEED }).map((text, i) => {
      const file = join(dir, `fuzz-${i}.yaml`);
      writeFileSync(file, text);
      return file;
    });
    // A bare start (`--version`) at the same time is the reference: tsx start-up on a busy box takes seconds.
    const [reference, ...results] = await Promise.all([run(['--version']), ...files.map((file) => run(['validate', '--config', file]))]);
    for (const { code, stderr, seconds } of results) {
      expect([0, 2], stderr).toContain(code);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(seconds).toBeLessThan(reference!.seconds + 5);
    }
  });
});
