import { execFile } from 'node:child_process';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { clientCertProblem, subjectAltNames } from '../../web/server.js';
import { BasicAuthVerifier, parseBasicAuth } from '../../web/auth.js';
import { createBcryptWorker, type BcryptCompare } from '../../web/bcrypt.js';
import type { TlsSettings } from '../../web/config-load.js';
import { parseCost } from '../../web/config-hash.js';

// Cost 4 keeps real bcrypt fast in tests; production hashes use 10 or more.
const ALICE_HASH = bcrypt.hashSync('alice-secret', 4);
const BOB_HASH = bcrypt.hashSync('bob-secret', 6);
const users = new Map([
  ['alice', ALICE_HASH],
  ['bob', BOB_HASH],
]);
const basic = (userPassword: string) => `Basic ${Buffer.from(userPassword).toString('base64')}`;

/** A compare that records its calls and answers with real bcrypt (sync), or waits on `gate` when set. */
function recordingCompare() {
  const calls: { password: string; hash: string | undefined; cost: number }[] = [];
  let gate: Promise<void> | undefined;
  const compare: BcryptCompare = async (password, hash, cost) => {
    calls.push({ password, hash, cost });
    if (gate) await gate;
    return hash !== undefined && bcrypt.compareSync(password, hash);
  };
  return { compare, calls, hold: (until: Promise<void>) => (gate = until) };
}

describe('parseBasicAuth', () => {
  it('decodes user and password, splitting at the first colon', () => {
    expect(parseBasicAuth(basic('alice:pa:ss'))).toEqual({ user: 'alice', password: 'pa:ss' });
    expect(parseBasicAuth(`basic ${Buffer.from('bob:').toString('base64')}`)).toEqual({ user: 'bob', password: '' });
  });

  it.each([undefined, '', 'Bearer abc', 'Basic', 'Basic !!!', basic('no-colon')])('rejects %j', (header) => {
    expect(parseBasicAuth(header)).toBeUndefined();
  });
});

describe('BasicAuthVerifier', () => {
  it('caches a successful check: the second scrape costs no bcrypt compare', async () => {
    const { compare, calls } = recordingCompare();
    const verifier = new BasicAuthVerifier({ compare });
    expect(await verifier.verify(users, { user: 'alice', password: 'alice-secret' })).toBe('ok');
    expect(await verifier.verify(users, { user: 'alice', password: 'alice-secret' })).toBe('ok');
    expect(calls).toEqual([{ password: 'alice-secret', hash: ALICE_HASH, cost: 4 }]);
  });

  it('does not cache failures: every wrong password costs a compare', async () => {
    const { compare, calls } = recordingCompare();
    const verifier = new BasicAuthVerifier({ compare });
    expect(await verifier.verify(users, { user: 'alice', password: 'guess' })).toBe('denied');
    expect(await verifier.verify(users, { user: 'alice', password: 'guess' })).toBe('denied');
    expect(calls).toHaveLength(2);
  });

  it('runs a compare for an unknown user too, at the highest configured cost', async () => {
    const { compare, calls } = recordingCompare();
    const verifier = new BasicAuthVerifier({ compare });
    expect(await verifier.verify(users, { user: 'mallory', password: 'alice-secret' })).toBe('denied');
    expect(calls).toEqual([{ password: 'alice-secret', hash: undefined, cost: 6 }]);
  });

  it('a changed hash in the file (password rotation) is not served from the cache', async () => {
    const { compare, calls } = recordingCompare();
    const verifier = new BasicAuthVerifier({ compare });
    expect(await verifier.verify(users, { user: 'alice', password: 'alice-secret' })).toBe('ok');
    const rotated = new Map([['alice', bcrypt.hashSync('new-secret', 4)]]);
    expect(await verifier.verify(rotated, { user: 'alice', password: 'alice-secret' })).toBe('denied');
    expect(await verifier.verify(rotated, { user: 'alice', password: 'new-secret' })).toBe('ok');
    expect(calls).toHaveLength(3);
  });

  it('keeps the cache bounded, dropping the oldest entry', async () => {
    const { compare, calls } = recordingCompare();
    const verifier = new BasicAuthVerifier({ compare, cacheSize: 1 });
    await verifier.verify(users, { user: 'alice', password: 'alice-secret' });
    await verifier.verify(users, { user: 'bob', password: 'bob-secret' });
    await verifier.verify(users, { user: 'alice', password: 'alice-secret' });
    expect(calls.map((c) => c.password)).toEqual(['alice-secret', 'bob-secret', 'alice-secret']);
  });

  it('answers busy instead of queueing unbounded compares; cached users still get in', async () => {
    const { compare, hold } = recordingCompare();
    const verifier = new BasicAuthVerifier({ compare, maxInFlight: 1 });
    expect(await verifier.verify(users, { user: 'alice', password: 'alice-secret' })).toBe('ok');
    let release!: () => void;
    hold(new Promise<void>((resolve) => (release = resolve)));
    const slow = verifier.verify(users, { user: 'bob', password: 'wrong' });
    expect(await verifier.verify(users, { user: 'mallory', password: 'x' })).toBe('busy');
    expect(await verifier.verify(users, { user: 'alice', password: 'alice-secret' })).toBe('ok');
    release();
    expect(await slow).toBe('denied');
  });
});

describe('bcrypt worker', () => {
  const worker = createBcryptWorker();
  afterAll(() => worker.close());

  it('compares in a worker thread, including the dummy compare for unknown users', async () => {
    expect(await worker.compare('alice-secret', ALICE_HASH, 4)).toBe(true);
    expect(await worker.compare('wrong', ALICE_HASH, 4)).toBe(false);
    // $2y$ (htpasswd) hashes work like $2a$/$2b$.
    expect(await worker.compare('alice-secret', ALICE_HASH.replace(/^\$2b\$/, '$2y$'), 4)).toBe(true);
    expect(await worker.compare('alice-secret', undefined, 4)).toBe(false);
    expect(await worker.compare('alice-secret', undefined, 4)).toBe(false);
    expect(await worker.compare('x', 'not-a-hash', 4)).toBe(false);
    expect(worker.pending()).toBe(0);
  });

  it('rejects pending compares cleanly once closed', async () => {
    const closing = createBcryptWorker();
    const pending = expect(closing.compare('alice-secret', ALICE_HASH, 4)).rejects.toThrow('bcrypt worker closed');
    await closing.close();
    await pending;
  });
});

describe('client certificate policies', () => {
  const settings = (clientAuth: TlsSettings['clientAuth'], allowedSans?: string[]): TlsSettings => ({
    secureContext: {},
    clientAuth,
    ...(allowedSans ? { allowedSans } : {}),
    certSubject: 'CN=x',
    certNotAfter: new Date(0),
  });
  const cert = (subjectAltName?: string) => ({ subjectAltName }) as never;
  const socket = (peer: ReturnType<typeof cert> | undefined, authorized: boolean) => ({
    getPeerX509Certificate: () => peer,
    authorized,
    authorizationError: authorized ? (undefined as never) : (new Error('UNABLE_TO_VERIFY_LEAF_SIGNATURE') as never),
  });

  it.each([
    ['NoClientCert', undefined, false, undefined],
    ['RequestClientCert', cert(), false, undefined],
    ['RequireAnyClientCert', undefined, false, 'no client certificate'],
    ['RequireAnyClientCert', cert(), false, undefined],
    ['VerifyClientCertIfGiven', undefined, false, undefined],
    ['VerifyClientCertIfGiven', cert(), false, 'client certificate not trusted (Error: UNABLE_TO_VERIFY_LEAF_SIGNATURE)'],
    ['VerifyClientCertIfGiven', cert(), true, undefined],
    ['RequireAndVerifyClientCert', cert(), true, undefined],
  ] as const)('%s with certificate %j, authorized %s → %s', (clientAuth, peer, authorized, expected) => {
    expect(clientCertProblem(settings(clientAuth), socket(peer, authorized))).toBe(expected);
  });

  it('client_allowed_sans matches any SAN of the certificate exactly', () => {
    const policy = settings('RequireAndVerifyClientCert', ['prometheus.example', '198.18.0.10']);
    expect(clientCertProblem(policy, socket(cert('DNS:other.example, IP Address:198.18.0.10'), true))).toBeUndefined();
    expect(clientCertProblem(policy, socket(cert('DNS:prometheus.example.evil'), true))).toBe('client certificate has none of client_allowed_sans');
    expect(clientCertProblem(policy, socket(cert(undefined), true))).toBe('client certificate has none of client_allowed_sans');
  });

  it('splits Node subjectAltName text, including quoted values', () => {
    expect(subjectAltNames('DNS:a.example, IP Address:127.0.0.1, email:ops@example.org, URI:spiffe://x/y, DNS:"b,c.example"')).toEqual([
      'a.example',
      '127.0.0.1',
      'ops@example.org',
      'spiffe://x/y',
      'b,c.example',
    ]);
    expect(subjectAltNames(undefined)).toEqual([]);
  });
});

describe('web-config-hash script', () => {
  const script = join(import.meta.dirname, '../../web/config-hash.ts');
  const hash = (stdin: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', script, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
      child.stdin?.end(stdin);
    });

  it('hashes a piped password (one trailing newline dropped) at the requested cost', async () => {
    const result = await hash('pass word\n', ['--cost', '5']);
    expect(result.code).toBe(0);
    const printed = result.stdout.trim();
    expect(printed).toMatch(/^\$2b\$05\$/);
    expect(bcrypt.compareSync('pass word', printed)).toBe(true);
  });

  it('refuses an empty password and a bad cost', async () => {
    expect(await hash('\n', [])).toMatchObject({ code: 2, stdout: '', stderr: 'web-config-hash: empty password\n' });
    expect(() => parseCost(['--cost', '99'])).toThrow('--cost: expected a whole number from 4 to 31');
    expect(parseCost([])).toBe(10);
  });
});
