// startWebServer against real clients on loopback: basic auth, TLS, mTLS policies, plain HTTP on the
// TLS port, live reload of the web config and certificates. Needs the openssl CLI (Debian openssl).
import { copyFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, type WebServer } from '../../web/server.js';
import { createTestPki, writeServerFiles, type TestPki } from '../support/certs.js';

const log = pino({ level: 'silent' });
const handler = (req: { url?: string }, res: { end: (s: string) => void }) => res.end(`hello from ${req.url}\n`);
const PROM_HASH = bcrypt.hashSync('scrape-secret', 4);
const NEW_HASH = bcrypt.hashSync('rotated-secret', 4);
/** A connection the server drops after the handshake: reset, or a write into the reset. */
const DROPPED = /^(ECONNRESET|EPIPE)$/;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
interface ClientOptions {
  auth?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/** One request on a fresh connection (agent: false), so every call runs a new TLS handshake. */
function get(url: string, options: ClientOptions = {}): Promise<Reply> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        agent: false,
        timeout: 5000,
        headers: options.auth ? { Authorization: `Basic ${Buffer.from(options.auth).toString('base64')}` } : {},
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The error code a failing request ends with (the request must fail). */
async function failure(url: string, options: ClientOptions = {}): Promise<string> {
  const outcome = await get(url, options).then(
    (reply) => `unexpected reply ${reply.status}`,
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  return outcome;
}

describe('startWebServer', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let dir: string;
  let server: WebServer | undefined;
  let mtime = 1_000_000;

  const writeConfig = (text: string, name = 'web.yml') => {
    const file = join(dir, name);
    writeFileSync(file, text);
    utimesSync(file, ++mtime, mtime);
    return file;
  };
  const start = async (webConfigText?: string) => {
    const webConfigFile = webConfigText === undefined ? undefined : writeConfig(webConfigText);
    server = await startWebServer({ listen: { address: '127.0.0.1', port: 0 }, ...(webConfigFile ? { webConfigFile } : {}), handler, log });
    return server;
  };
  const tlsSection = (extra = '') => `tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n${extra}`;

  beforeAll(() => {
    pki = createTestPki({ name: 'websrv' });
    otherPki = createTestPki({ name: 'websrv-other' });
    dir = mkdtempSync(join(tmpdir(), 'linkmon-websrv-'));
    writeServerFiles(pki, dir);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(() => {
    pki?.cleanup();
    otherPki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves plain HTTP without a web config', async () => {
    const { url, tls } = await start();
    expect(tls).toBe(false);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${url}/metrics`)).toMatchObject({ status: 200, body: 'hello from /metrics\n' });
  });

  it('basic auth: 401 with WWW-Authenticate: Basic unless the password is right; excluded paths stay open', async () => {
    const { url } = await start(`basic_auth_users:\n  prometheus: ${PROM_HASH}\nauth_excluded_paths: [/healthz]\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n`);
    for (const auth of [undefined, 'prometheus:wrong', 'nobody:scrape-secret', 'prometheus']) {
      const reply = await get(`${url}/metrics`, auth ? { auth } : {});
      expect(reply.status, `auth ${auth}`).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Basic');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.body).not.toContain('hello');
    }
    expect(await get(`${url}/metrics`, { auth: 'prometheus:scrape-secret' })).toMatchObject({ status: 200, body: 'hello from /metrics\n' });
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: 'hello from /healthz\n' });
    expect(await get(`${url}/healthz?x=1`)).toMatchObject({ status: 200 });
  });

  it('TLS: serves HTTPS with the configured certificate and refuses plain HTTP with a clear 400', async () => {
    const { url, port, tls } = await start(tlsSection());
    expect(tls).toBe(true);
    expect(url).toBe(`https://127.0.0.1:${port}`);
    expect(await get(`${url}/metrics`, { ca: pki.caCert })).toMatchObject({ status: 200 });
    expect(await failure(`${url}/metrics`, { ca: otherPki.caCert })).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');

    const plain = await get(`http://127.0.0.1:${port}/metrics`);
    expect(plain).toMatchObject({ status: 400, body: 'Client sent an HTTP request to an HTTPS server.\n' });

    // Something that is neither TLS nor HTTP is just closed.
    const closed = await new Promise<string>((resolve) => {
      const socket = netConnect(port, '127.0.0.1', () => socket.write(Buffer.from([0x00, 0x01, 0x02])));
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(received));
    });
    expect(closed).toBe('');
  });

  it('mTLS RequireAndVerifyClientCert: only a client certificate from client_ca_file gets in', async () => {
    const { url } = await start(tlsSection('  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n'));
    const trusted = { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey };
    expect(await get(`${url}/metrics`, trusted)).toMatchObject({ status: 200 });
    // No certificate: OpenSSL sends the TLS 1.3 certificate_required alert.
    expect(await failure(`${url}/metrics`, { ca: pki.caCert })).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    // A certificate from another CA: Node checks it after the handshake and drops the connection.
    expect(await failure(`${url}/metrics`, { ca: pki.caCert, cert: otherPki.clientCert, key: otherPki.clientKey })).toMatch(DROPPED);
  });

  it('mTLS with client_allowed_sans and basic auth together', async () => {
    const { url } = await start(
      tlsSection(`  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [not-the-client.example]\nbasic_auth_users:\n  prometheus: ${PROM_HASH}\n`),
    );
    expect(await failure(`${url}/metrics`, { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey, auth: 'prometheus:scrape-secret' })).toMatch(DROPPED);
  });

  it('RequireAnyClientCert wants a certificate but does not check who issued it', async () => {
    const { url } = await start(tlsSection('  client_auth_type: RequireAnyClientCert\n'));
    expect(await failure(`${url}/metrics`, { ca: pki.caCert })).toMatch(DROPPED);
    expect(await get(`${url}/metrics`, { ca: pki.caCert, cert: otherPki.clientCert, key: otherPki.clientKey })).toMatchObject({ status: 200 });
  });

  it('picks up a new password and new certificates without restart; a bad file keeps the last good one', async () => {
    const { url } = await start(tlsSection(`basic_auth_users:\n  prometheus: ${PROM_HASH}\n`));
    const fingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(url).port), rejectUnauthorized: false }, () => {
          resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
          socket.end();
        });
        socket.on('error', reject);
      });
    const before = await fingerprint();
    expect(await get(`${url}/metrics`, { ca: pki.caCert, auth: 'prometheus:scrape-secret' })).toMatchObject({ status: 200 });

    writeConfig(tlsSection(`basic_auth_users:\n  prometheus: ${NEW_HASH}\n`));
    expect(await get(`${url}/metrics`, { ca: pki.caCert, auth: 'prometheus:scrape-secret' })).toMatchObject({ status: 401 });
    expect(await get(`${url}/metrics`, { ca: pki.caCert, auth: 'prometheus:rotated-secret' })).toMatchObject({ status: 200 });

    // Certificate rotation: new files under the same names.
    copyFileSync(otherPki.files.serverCert, join(dir, 'server.pem'));
    copyFileSync(otherPki.files.serverKey, join(dir, 'server.key'));
    const after = await fingerprint();
    expect(after).not.toBe(before);
    expect(await get(`${url}/metrics`, { ca: otherPki.caCert, auth: 'prometheus:rotated-secret' })).toMatchObject({ status: 200 });

    // A broken file (plain-text password) and a file turning TLS off are both refused.
    writeConfig(tlsSection('basic_auth_users:\n  prometheus: rotated-secret\n'));
    expect(await get(`${url}/metrics`, { ca: otherPki.caCert, auth: 'prometheus:rotated-secret' })).toMatchObject({ status: 200 });
    writeConfig('basic_auth_users: {}\n');
    expect(await get(`${url}/metrics`, { ca: otherPki.caCert })).toMatchObject({ status: 401 });
    copyFileSync(pki.files.serverCert, join(dir, 'server.pem'));
    copyFileSync(pki.files.serverKey, join(dir, 'server.key'));
  });

  it('rate_limit answers 429 beyond the burst', async () => {
    const { url } = await start('rate_limit:\n  interval: 1h\n  burst: 2\n');
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await get(`${url}/metrics`)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('a handler that throws becomes a 500, and the server keeps serving', async () => {
    server = await startWebServer({
      listen: { address: '127.0.0.1', port: 0 },
      handler: (req, res) => {
        if (req.url === '/boom') throw new Error('bug');
        res.end('fine\n');
      },
      log,
    });
    expect((await get(`${server.url}/boom`)).status).toBe(500);
    expect((await get(`${server.url}/ok`)).body).toBe('fine\n');
  });

  it('a bad web config at start is an error naming the file', async () => {
    const file = writeConfig('tls_server_config:\n  cert_file: server.pem\n', 'bad.yml');
    await expect(startWebServer({ listen: { address: '127.0.0.1', port: 0 }, webConfigFile: file, handler, log })).rejects.toThrow(
      `invalid config ${file}:\n  - tls_server_config.key_file: required (or give the key inline as key)`,
    );
  });

  it('close() ends idle keep-alive and half-open TLS connections promptly', async () => {
    const { port, close } = await start(tlsSection());
    const idle = netConnect(port, '127.0.0.1');
    await new Promise((resolve) => idle.once('connect', resolve));
    const closed = new Promise((resolve) => idle.once('close', resolve));
    await close();
    await closed;
    server = undefined;
  });
});
