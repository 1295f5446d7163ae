// The container HEALTHCHECK script against real servers from startWebServer: plain, TLS (found by
// itself), mTLS, basic auth. Needs the openssl CLI (Debian openssl).
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth } from '../../web/healthcheck.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { createTestPki, type TestPki } from '../support/certs.js';
import { REPO_ROOT } from '../support/linkmon-process.js';
import { freeLoopbackPort, listenOnLoopback } from '../support/ports.js';

const log = pino({ level: 'silent' });

/** Runs the script as its own process (async: the server under test lives in this one). */
function runScript(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number; stdout: string }> {
  const script = join(REPO_ROOT, 'web/healthcheck.ts');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, env, timeout: 20_000 }, (err, stdout) => {
      resolve({ status: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout });
    });
  });
}

describe('healthcheck script', () => {
  let pki: TestPki;
  let dir: string;
  let server: WebServer | undefined;
  const start = async (webConfig?: string) => {
    let webConfigFile: string | undefined;
    if (webConfig !== undefined) {
      webConfigFile = join(dir, `web-${Math.random().toString(36).slice(2)}.yml`);
      writeFileSync(webConfigFile, webConfig);
    }
    server = await startWebServer({
      listen: { address: '127.0.0.1', port: 0 },
      ...(webConfigFile ? { webConfigFile } : {}),
      handler: (req, res) => {
        res.writeHead(req.url === '/healthz' ? 200 : 404).end();
      },
      log,
    });
    return new URL(`http://127.0.0.1:${server.port}/healthz`);
  };
  const tls = (extra = '') => `tls_server_config:\n  cert_file: ${pki.files.serverCert}\n  key_file: ${pki.files.serverKey}\n${extra}`;

  beforeAll(() => {
    pki = createTestPki({ name: 'healthcheck' });
    dir = mkdtempSync(join(tmpdir(), 'linkmon-healthcheck-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(() => {
    pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('plain HTTP', async () => {
    const url = await start();
    expect(await checkHealth(url)).toEqual({ ok: true, detail: `${url.href}: HTTP 200` });
  });

  it('finds out by itself that the server speaks HTTPS', async () => {
    const url = await start(tls());
    expect(await checkHealth(url)).toEqual({ ok: true, detail: `${url.href.replace('http:', 'https:')}: HTTP 200` });
  });

  it('mTLS needs the client certificate from the environment', async () => {
    const url = await start(tls(`  client_ca_file: ${pki.files.ca}\n  client_auth_type: RequireAndVerifyClientCert\n`));
    expect((await checkHealth(url, {})).ok).toBe(false);
    expect(await checkHealth(url, { LINKMON_HEALTHCHECK_CLIENT_CERT: pki.files.clientCert, LINKMON_HEALTHCHECK_CLIENT_KEY: pki.files.clientKey })).toMatchObject({ ok: true });
  });

  it('basic auth: healthy only when /healthz is in auth_excluded_paths', async () => {
    const users = `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('x', 4)}\n`;
    const url = await start(tls(users));
    expect(await checkHealth(url)).toEqual({ ok: false, detail: `${url.href.replace('http:', 'https:')}: HTTP 401` });
    await server?.close();
    const open = await start(tls(`${users}auth_excluded_paths: [/healthz]\n`));
    expect((await checkHealth(open)).ok).toBe(true);
  });

  it('a server that trickles its answer is unhealthy at the timeout (the socket timeout alone never fires)', async () => {
    const trickle = createServer((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 50);
      res.once('close', () => clearInterval(timer));
    });
    const port = await listenOnLoopback(trickle);
    try {
      expect(await checkHealth(new URL(`http://127.0.0.1:${port}/healthz`), {}, 300)).toMatchObject({ ok: false, detail: expect.stringContaining('ETIMEDOUT') });
    } finally {
      trickle.closeAllConnections();
      trickle.close();
    }
  });

  it('nothing listening is unhealthy, and the script exits 1 (0 when healthy)', async () => {
    const port = await freeLoopbackPort();
    expect(await checkHealth(new URL(`http://127.0.0.1:${port}/healthz`))).toEqual({ ok: false, detail: `http://127.0.0.1:${port}/healthz: ECONNREFUSED` });
    const down = await runScript([`http://127.0.0.1:${port}/healthz`]);
    expect(down.status).toBe(1);
    expect(down.stdout).toBe(`unhealthy: http://127.0.0.1:${port}/healthz: ECONNREFUSED\n`);
    const url = await start(tls());
    const up = await runScript([], { ...process.env, LINKMON_HEALTHCHECK_URL: url.href });
    expect(up.status).toBe(0);
    expect(up.stdout).toContain('healthy: https://127.0.0.1:');
  });
});
