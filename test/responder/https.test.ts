// Uses the openssl CLI (Debian package openssl) to make a throwaway CA for the HTTPS listener.
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResponder, type RunningResponder } from '../../responder/server.js';
import { createTestPki, type TestPki } from '../support/certs.js';
import { capturedLogger, loopbackConfig, TOKEN } from './support.js';

describe('responder over HTTPS (loopback)', () => {
  let pki: TestPki;
  let responder: RunningResponder;
  let dispatcher: Agent;

  beforeAll(async () => {
    pki = createTestPki({ name: 'responder' });
    const config = loopbackConfig({ https: { port: 0, cert_file: pki.files.serverCert, key_file: pki.files.serverKey }, tcp: { enabled: false }, udp: { enabled: false } });
    responder = await startResponder({ ...config, tlsCredentials: { cert: readFileSync(pki.files.serverCert), key: readFileSync(pki.files.serverKey) } }, capturedLogger().log);
    dispatcher = new Agent({ connect: { ca: pki.caCert } });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await responder?.stop();
    pki?.cleanup();
  });

  it('serves the same API with the same protections', async () => {
    const url = `https://127.0.0.1:${responder.ports.https}`;
    const ok = await undiciFetch(`${url}/download?bytes=100000`, { dispatcher, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect([ok.status, (await ok.arrayBuffer()).byteLength]).toEqual([200, 100_000]);
    const denied = await undiciFetch(`${url}/download?bytes=10`, { dispatcher });
    expect(denied.status).toBe(401);
    await denied.body?.cancel();
  });
});
