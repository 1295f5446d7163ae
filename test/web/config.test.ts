// Web config (exporter-toolkit format): parsing, certificate loading, reload. The certificate tests
// run the openssl CLI (Debian package openssl, in scripts/test-host-setup.sh).
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config-file.js';
import { loadWebConfig, parseWebConfigText, type WebConfig } from '../../web/config-load.js';
import { WebConfigSource } from '../../web/config-source.js';
import { createTestPki, type TestPki } from '../support/certs.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/web-config');
const ymlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yml')).sort();
const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

/** `# expect: <problem>` lines, in order; `{dir}` stands for the fixture's directory. */
function expectedProblems(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('# expect: '))
    .map((line) => line.slice('# expect: '.length).replaceAll('{dir}', dirname(file)));
}

async function problemsOf(file: string): Promise<string[]> {
  const error = await loadWebConfig(file).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).message).toContain(`invalid config ${file}:`);
  return (error as ConfigError).problems;
}

function capturedLog() {
  const lines: { level: number; msg: string; problems?: string[] }[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('web config fixtures', () => {
  it.each(ymlFiles(join(FIXTURES, 'bad')))('bad/%s is rejected with its exact message', async (name) => {
    const file = join(FIXTURES, 'bad', name);
    const expected = expectedProblems(file);
    expect(expected.length).toBeGreaterThan(0);
    expect(await problemsOf(file)).toEqual(expected);
  });

  it('never repeats a plain-text password from basic_auth_users', async () => {
    const file = join(FIXTURES, 'bad', 'plain-text-password.yml');
    const error = (await loadWebConfig(file).catch((err: unknown) => err)) as ConfigError;
    expect(error.message).not.toContain('correct-horse-battery-staple');
  });

  it('an empty file turns nothing on', async () => {
    const config = await loadWebConfig(join(FIXTURES, 'good', 'empty.yml'));
    expect(config.tls).toBeUndefined();
    expect(config.users.size).toBe(0);
    expect(config.rateLimit).toBeUndefined();
  });

  it('reads users, excluded paths, headers and the rate limit', async () => {
    const file = join(FIXTURES, 'good', 'basic-auth.yml');
    const config = await loadWebConfig(file);
    expect([...config.users.keys()]).toEqual(['prometheus', 'grafana']);
    expect(config.users.get('prometheus')).toBe(HASH);
    expect([...config.authExcludedPaths]).toEqual(['/healthz']);
    expect(config.headers).toEqual({ 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'deny', 'Content-Security-Policy': "default-src 'self'" });
    expect(config.rateLimit).toEqual({ intervalSeconds: 0.1, burst: 20 });
    expect(config.watchedFiles).toEqual([file]);
  });

  it('the shipped example is valid', () => {
    const file = join(import.meta.dirname, '../../deploy/web-config.example.yml');
    const parsed = parseWebConfigText(readFileSync(file, 'utf8'), file);
    expect(parsed.tls_server_config?.client_auth_type).toBe('RequireAndVerifyClientCert');
    expect(Object.keys(parsed.basic_auth_users)).toEqual(['prometheus']);
    expect(parsed.auth_excluded_paths).toEqual(['/healthz']);
  });

  it('reports a missing file by name', async () => {
    await expect(loadWebConfig('/nonexistent/web.yml')).rejects.toThrow('invalid config /nonexistent/web.yml:\n  - file not found');
  });
});

describe('web config TLS files', () => {
  let pki: TestPki;
  let other: TestPki;
  let dir: string;
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  beforeAll(() => {
    pki = createTestPki({ name: 'webcfg' });
    other = createTestPki({ name: 'webcfg-other' });
    dir = mkdtempSync(join(tmpdir(), 'linkmon-webcfg-'));
  });
  afterAll(() => {
    pki?.cleanup();
    other?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('maps toolkit names to Node TLS options and resolves paths against the config file', async () => {
    const file = write(
      'mtls.yml',
      [
        'tls_server_config:',
        `  cert_file: ${pki.files.serverCert}`,
        `  key_file: ${pki.files.serverKey}`,
        `  client_ca_file: ${pki.files.ca}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        '  client_allowed_sans: [prometheus.example]',
        '  min_version: TLS13',
        '  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]',
        '  curve_preferences: [X25519, CurveP256]',
        '  prefer_server_cipher_suites: false',
      ].join('\n'),
    );
    const config = await loadWebConfig(file);
    expect(config.tls).toMatchObject({
      clientAuth: 'RequireAndVerifyClientCert',
      allowedSans: ['prometheus.example'],
      certSubject: 'CN=localhost',
      secureContext: {
        cert: pki.serverCert,
        key: pki.serverKey,
        ca: pki.caCert,
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        honorCipherOrder: false,
        ciphers: 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256',
        ecdhCurve: 'X25519:P-256',
      },
    });
    expect(config.watchedFiles).toEqual([file, pki.files.serverCert, pki.files.serverKey, pki.files.ca]);

    const relative = join(pki.dir, 'relative.yml');
    writeFileSync(relative, 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireClientCert\n');
    const legacy = await loadWebConfig(relative);
    expect(legacy.tls?.clientAuth).toBe('RequireAnyClientCert');
    expect(legacy.tls?.secureContext).toMatchObject({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', honorCipherOrder: true });
    expect(legacy.watchedFiles).toEqual([relative, pki.files.serverCert, pki.files.serverKey]);
  });

  it('accepts inline PEM instead of files', async () => {
    const indent = (pem: string) => pem.trim().replaceAll('\n', '\n    ');
    const file = write('inline.yml', `tls_server_config:\n  cert: |\n    ${indent(pki.serverCert)}\n  key: |\n    ${indent(pki.serverKey)}\n`);
    const config = await loadWebConfig(file);
    expect(config.tls?.certSubject).toBe('CN=localhost');
    expect(config.watchedFiles).toEqual([file]);
  });

  it('rejects a key that does not belong to the certificate', async () => {
    const file = write('mismatch.yml', `tls_server_config:\n  cert_file: ${pki.files.serverCert}\n  key_file: ${other.files.serverKey}\n`);
    expect(await problemsOf(file)).toEqual(['tls_server_config.key_file: does not belong to the certificate in cert_file']);
  });

  it('rejects files that are not PEM, naming the field and the OpenSSL code', async () => {
    const garbage = write('garbage.pem', 'not a certificate\n');
    const file = write('garbage.yml', `tls_server_config:\n  cert_file: ${garbage}\n  key_file: ${garbage}\n  client_ca_file: ${garbage}\n  client_auth_type: VerifyClientCertIfGiven\n`);
    expect(await problemsOf(file)).toEqual([
      'tls_server_config.cert_file: expected a PEM certificate (ERR_OSSL_PEM_NO_START_LINE)',
      'tls_server_config.key_file: expected an unencrypted PEM private key (ERR_OSSL_UNSUPPORTED)',
      'tls_server_config.client_ca_file: expected one or more PEM certificates, found none',
    ]);
  });
});

describe('WebConfigSource reload', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-webcfg-reload-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const rewrite = (file: string, text: string, mtimeSeconds: number) => {
    writeFileSync(file, text);
    // A distinct mtime, so the change is seen even when two writes land in the same clock tick.
    utimesSync(file, mtimeSeconds, mtimeSeconds);
  };

  it('picks up a changed file, keeps the last good config on a bad one and logs it once', async () => {
    const file = join(dir, 'web.yml');
    rewrite(file, `basic_auth_users:\n  alice: ${HASH}\n`, 1_000_000);
    const { log, lines } = capturedLog();
    let now = 0;
    const source = await WebConfigSource.open(file, { log, now: () => now });
    const reloaded: WebConfig[] = [];
    source.onReload((config) => reloaded.push(config));
    expect([...(await source.get()).users.keys()]).toEqual(['alice']);
    expect(reloaded).toHaveLength(0);

    rewrite(file, `basic_auth_users:\n  bob: ${HASH}\n`, 1_000_001);
    expect([...(await source.get()).users.keys()]).toEqual(['bob']);
    expect(reloaded).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'web config reloaded')).toHaveLength(1);

    rewrite(file, 'basic_auth_users:\n  carol: hunter2\n', 1_000_002);
    expect([...(await source.get()).users.keys()]).toEqual(['bob']);
    expect([...(await source.get()).users.keys()]).toEqual(['bob']);
    now += 60_000; // the retry of a bad file finds the same problem: not logged again
    expect([...(await source.get()).users.keys()]).toEqual(['bob']);
    const rejections = lines.filter((l) => l.msg === 'web config rejected; keeping the last good one');
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.level).toBe(50);
    expect(rejections[0]!.problems).toEqual([expect.stringMatching(/^basic_auth_users\.carol: expected a bcrypt hash/)]);
    expect(JSON.stringify(lines)).not.toContain('hunter2');

    rewrite(file, `basic_auth_users:\n  carol: ${HASH}\n`, 1_000_003);
    expect([...(await source.get()).users.keys()]).toEqual(['carol']);
    expect(reloaded).toHaveLength(2);
  });

  it('refuses a change its owner cannot apply without a restart', async () => {
    const file = join(dir, 'transport.yml');
    rewrite(file, '', 1_000_000);
    const { log, lines } = capturedLog();
    const source = await WebConfigSource.open(file, { log, check: (next) => (next.users.size > 0 ? 'basic_auth_users: not now' : undefined) });
    rewrite(file, `basic_auth_users:\n  alice: ${HASH}\n`, 1_000_001);
    expect((await source.get()).users.size).toBe(0);
    expect(lines.find((l) => l.problems)?.problems).toEqual(['basic_auth_users: not now']);
  });

  it('a bad file at start is an error, not a warning', async () => {
    const file = join(dir, 'bad-at-start.yml');
    rewrite(file, 'basic_auth_users:\n  alice: hunter2\n', 1_000_000);
    await expect(WebConfigSource.open(file, { log: capturedLog().log })).rejects.toBeInstanceOf(ConfigError);
  });
});
