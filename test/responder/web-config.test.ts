// The responder with --web.config.file: basic auth from the web config guards /metrics only; the
// probe endpoints keep their own rules (bearer tokens for tests, open /latency and /healthz).
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startResponder, type RunningResponder } from '../../responder/server.js';
import { createTestPki } from '../support/certs.js';
import { capturedLogger, loopbackConfig, TOKEN } from './support.js';

describe('responder --web.config.file', () => {
  let dir: string;
  let responder: RunningResponder | undefined;
  const basic = (userPassword: string) => ({ Authorization: `Basic ${Buffer.from(userPassword).toString('base64')}` });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-responder-web-'));
  });
  afterEach(async () => {
    await responder?.stop();
    responder = undefined;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('asks for basic auth on /metrics only, and picks up a new password without restart', async () => {
    const file = join(dir, 'web.yml');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('scrape-secret', 4)}\n`);
    responder = await startResponder(loopbackConfig(), capturedLogger().log, new Registry(), { webConfigFile: file });
    const base = `http://127.0.0.1:${responder.ports.http}`;

    const anonymous = await fetch(`${base}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic');
    expect((await fetch(`${base}/metrics`, { headers: basic('prometheus:wrong') })).status).toBe(401);
    const scrape = await fetch(`${base}/metrics`, { headers: basic('prometheus:scrape-secret') });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('linkmon_responder_');

    expect((await fetch(`${base}/latency`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/download?bytes=10`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

    writeFileSync(file, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('rotated-secret', 4)}\n`);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect((await fetch(`${base}/metrics`, { headers: basic('prometheus:scrape-secret') })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: basic('prometheus:rotated-secret') })).status).toBe(200);
  });

  it('refuses a tls_server_config: the responder takes TLS from its own https section', async () => {
    const pki = createTestPki({ name: 'responder-web' });
    try {
      const file = join(dir, 'web-tls.yml');
      writeFileSync(file, `tls_server_config:\n  cert_file: ${pki.files.serverCert}\n  key_file: ${pki.files.serverKey}\n`);
      await expect(startResponder(loopbackConfig(), capturedLogger().log, new Registry(), { webConfigFile: file })).rejects.toThrow(
        `invalid config ${file}:\n  - tls_server_config: not used here (this server takes TLS settings from its own config); remove it`,
      );
    } finally {
      pki.cleanup();
    }
  });
});
