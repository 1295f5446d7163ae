import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config-file.js';
import { loadResponderConfigFile, parseResponderConfigText } from '../../responder/config.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/config/responder-bad');
const EXAMPLE = join(import.meta.dirname, '../../config/examples/responder.yaml');
const GOOD_TOKEN = 'a-good-token-of-32-characters-xx';
const dir = mkdtempSync(join(tmpdir(), 'linkmon-responder-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const problemsOf = (promise: Promise<unknown>) =>
  promise.then(
    () => [] as string[],
    (err: unknown) => (err instanceof ConfigError ? err.problems : [`not a ConfigError: ${String(err)}`]),
  );

describe('responder config', () => {
  it.each(readdirSync(FIXTURES).sort())('bad fixture %s is rejected with its exact message', async (name) => {
    const file = join(FIXTURES, name);
    const expected = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('# expect: ')).map((l) => l.slice(10));
    expect(await problemsOf(loadResponderConfigFile(file, {}))).toEqual(expected);
  });

  it('the shipped example is valid and has the documented defaults', () => {
    const config = parseResponderConfigText(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
    expect(config.limits).toEqual({ max_bytes: 1024 ** 3, max_seconds: 30, max_concurrent: 2, max_streams_per_test: 16, idle_timeout: 10, max_connections: 256, max_connections_per_source: 32 });
    expect([config.http.port, config.https?.port, config.tcp.port, config.udp.port]).toEqual([9480, 9481, 9482, 9483]);
  });

  it('reads several tokens from the file and the environment (rotation)', async () => {
    const tokens = write('tokens', `# current\n${GOOD_TOKEN}\n\nnext-token-rotating-in-0123456\n`);
    const file = write('ok.yaml', `auth: { token_file: ${tokens}, token_env: RESPONDER_TOKENS }\n`);
    const config = await loadResponderConfigFile(file, { RESPONDER_TOKENS: 'env-token-0123456789abcdef, env-token-two-0123456789' });
    expect(config.tokens).toHaveLength(4);
  });

  it('names the source of a short token without printing it, and refuses to start without tokens', async () => {
    const tokens = write('short', `${GOOD_TOKEN}\nshort-secret\n`);
    const problems = await problemsOf(loadResponderConfigFile(write('short.yaml', `auth: { token_file: ${tokens} }\n`), {}));
    expect(problems).toEqual([`auth.token_file: ${tokens} line 2: expected a token of at least 16 characters`]);
    expect(problems.join()).not.toContain('short-secret');
    const unset = await problemsOf(loadResponderConfigFile(write('env.yaml', 'auth: { token_env: NOT_SET_ANYWHERE }\n'), {}));
    expect(unset).toEqual(['auth.token_env: environment variable NOT_SET_ANYWHERE is not set or empty']);
    const empty = await problemsOf(loadResponderConfigFile(write('empty.yaml', `auth: { token_file: ${write('blank', '# none yet\n')} }\n`), {}));
    expect(empty).toEqual(['auth: no token found in token_file or token_env; the throughput endpoints would be open']);
  });

  it('reports unreadable token, certificate and key files by field', async () => {
    const file = write('missing.yaml', 'auth: { token_file: /nonexistent/tokens }\nhttps: { cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem }\n');
    expect(await problemsOf(loadResponderConfigFile(file, {}))).toEqual([
      'auth.token_file: cannot read /nonexistent/tokens (file not found)',
      'https.cert_file: cannot read /nonexistent/c.pem (file not found)',
      'https.key_file: cannot read /nonexistent/k.pem (file not found)',
    ]);
  });

  it('checks at load what would fail at start: the address, a port used twice, a FIFO, a certificate that is not PEM', async () => {
    const fifo = join(dir, 'tokens.fifo');
    execFileSync('mkfifo', [fifo]);
    const file = write(
      'start-failures.yaml',
      `listen: { address: "not an address" }\nhttp: { port: 9480 }\ntcp: { port: 9480 }\nauth: { token_file: ${fifo} }\n`,
    );
    expect(await problemsOf(loadResponderConfigFile(file, {}))).toEqual([
      'listen.address: expected an IP address to listen on, such as 0.0.0.0, :: or 127.0.0.1, got "not an address"',
      'tcp.port: 9480 is also http.port: the HTTP, HTTPS and TCP listeners need a TCP port each',
    ]);
    const tokens = write('tokens', 'a-token-of-enough-length\n');
    const fifoFile = write('fifo.yaml', `auth: { token_file: ${fifo} }\n`);
    expect(await problemsOf(loadResponderConfigFile(fifoFile, {}))).toEqual([`auth.token_file: cannot read ${fifo} (not a regular file (a device, FIFO or socket is never read))`]);
    const notPem = write('not-pem.yaml', `auth: { token_file: ${tokens} }\nhttps: { cert_file: ${tokens}, key_file: ${tokens} }\n`);
    const [problem] = await problemsOf(loadResponderConfigFile(notPem, {}));
    expect(problem).toMatch(/^https\.key_file: not a PEM private key matching the PEM certificate in https\.cert_file \(/);
  });
});
