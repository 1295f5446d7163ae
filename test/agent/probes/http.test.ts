// Uses the openssl CLI (Debian package openssl) to make a throwaway CA for the HTTPS cases, and
// test/support/syn-sink.ts (Debian package python3) for a host that drops SYNs.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHttp } from '../../../agent/probes/http.js';
import type { ModuleOf } from '../../../agent/probes/types.js';
import { createTestPki, type TestPki } from '../../support/certs.js';
import { listenOnLoopback } from '../../support/ports.js';
import { startSynSink } from '../../support/syn-sink.js';

const httpModule = (overrides: Partial<ModuleOf<'http'>> = {}): ModuleOf<'http'> => ({
  kind: 'http',
  interval: 5,
  timeout: 2,
  method: 'GET',
  expect_status: [],
  headers: {},
  tls: { insecure_skip_verify: false },
  body_size_limit: 1 << 20,
  ...overrides,
});
const ctx = (url: string, module = httpModule()) => ({
  target: { name: 'portal', module: 'web', url, labels: {} },
  module,
  labels: { target: 'portal', kind: 'http' },
  signal: new AbortController().signal,
});

/** Routes that behave like the failures a CAID front end can show. */
const handler: Parameters<typeof createHttpServer>[1] = (req, res) => {
  switch (req.url) {
    case '/ok':
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status": "ok"}');
      return;
    case '/error':
      res.writeHead(500).end('down for maintenance');
      return;
    case '/hang':
      return; // never answers
    case '/endless': {
      // A chunked body that never ends, written as fast as the client reads it.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    case '/big':
      res.writeHead(200, { 'Content-Length': String(2 << 20) }).end(Buffer.alloc(2 << 20, 'x'));
      return;
    case '/reset':
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    default:
      res.writeHead(404).end();
  }
};

describe('HTTP probe (loopback)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createHttpServer(handler);
    base = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('succeeds on 2xx and reports every phase', async () => {
    const result = await probeHttp(ctx(`${base}/ok`));
    expect(result.ok).toBe(true);
    expect(result.http?.statusCode).toBe(200);
    const phases = result.http!.phaseSeconds;
    expect(phases.resolve).toBeGreaterThanOrEqual(0);
    expect(phases.connect).toBeGreaterThan(0);
    expect(phases.tls).toBe(0);
    expect(phases.processing).toBeGreaterThan(0);
    expect(phases.transfer).toBeGreaterThanOrEqual(0);
    if (result.ok) {
      const sum = phases.resolve + phases.connect + phases.processing + phases.transfer;
      expect(sum).toBeLessThanOrEqual(result.durationSeconds + 1e-6);
    }
  });

  it('checks the body against expect_body', async () => {
    expect((await probeHttp(ctx(`${base}/ok`, httpModule({ expect_body: '"status":\\s*"ok"' })))).ok).toBe(true);
    expect(await probeHttp(ctx(`${base}/ok`, httpModule({ expect_body: 'degraded' })))).toMatchObject({ ok: false, reason: 'body_mismatch' });
  });

  it('fails on an unexpected status, keeping the status code', async () => {
    const result = await probeHttp(ctx(`${base}/error`));
    expect(result).toMatchObject({ ok: false, reason: 'http_status', http: { statusCode: 500 } });
    expect((await probeHttp(ctx(`${base}/error`, httpModule({ expect_status: [500] })))).ok).toBe(true);
  });

  it('times out on a server that never answers', async () => {
    expect(await probeHttp(ctx(`${base}/hang`, httpModule({ timeout: 0.3 })))).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('reports a connection reset mid-body as reset', async () => {
    expect(await probeHttp(ctx(`${base}/reset`))).toMatchObject({ ok: false, reason: 'reset' });
  });

  it('stops reading at body_size_limit and fails with reason body_too_large, long before the timeout', async () => {
    const endless = await probeHttp(ctx(`${base}/endless`, httpModule({ timeout: 30 })));
    expect(endless).toMatchObject({ ok: false, reason: 'body_too_large', http: { statusCode: 200 } });
    expect(await probeHttp(ctx(`${base}/big`, httpModule({ body_size_limit: 64 * 1024 })))).toMatchObject({ ok: false, reason: 'body_too_large' });
    expect((await probeHttp(ctx(`${base}/ok`, httpModule({ body_size_limit: 16 })))).ok).toBe(true);
  });

  it('times out against a host that drops SYNs', async () => {
    const sink = await startSynSink();
    try {
      expect(await probeHttp(ctx(`http://127.0.0.1:${sink.port}/`, httpModule({ timeout: 1001 / 1000 })))).toMatchObject({ ok: false, reason: 'timeout' });
    } finally {
      await sink.close();
    }
  });

  it('reports a closed port as refused', async () => {
    const closed = createHttpServer();
    const port = await listenOnLoopback(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await probeHttp(ctx(`http://127.0.0.1:${port}/ok`))).toMatchObject({ ok: false, reason: 'refused' });
  });
});

describe('HTTPS probe (loopback, test CA)', () => {
  let pki: TestPki;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    pki = createTestPki({ name: 'http-probe' });
    server = createHttpsServer({ cert: pki.serverCert, key: pki.serverKey }, handler);
    base = `https://127.0.0.1:${await listenOnLoopback(server)}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
    pki.cleanup();
  });

  it('verifies against ca_file, times the TLS handshake and reads the certificate expiry', async () => {
    const result = await probeHttp(ctx(`${base}/ok`, httpModule({ tls: { ca_file: pki.files.ca, insecure_skip_verify: false } })));
    expect(result.ok).toBe(true);
    expect(result.http!.phaseSeconds.tls).toBeGreaterThan(0);
    const expiry = result.http!.certExpirySeconds!;
    const oneDay = 86400;
    expect(expiry).toBeGreaterThan(Date.now() / 1000 + oneDay - 3600);
    expect(expiry).toBeLessThan(Date.now() / 1000 + oneDay + 3600);
  });

  it('fails with reason tls when the certificate is not trusted', async () => {
    expect(await probeHttp(ctx(`${base}/ok`))).toMatchObject({ ok: false, reason: 'tls' });
  });

  it('reports an unreadable ca_file as a failed attempt, not a crash', async () => {
    const result = await probeHttp(ctx(`${base}/ok`, httpModule({ tls: { ca_file: '/nonexistent/ca.pem', insecure_skip_verify: false } })));
    expect(result).toMatchObject({ ok: false, reason: 'error', detail: 'tls.ca_file: cannot read /nonexistent/ca.pem (file not found)' });
  });

  it('times out on a TLS handshake that never completes, and closes the connection', async () => {
    const accepted: Socket[] = [];
    const silent = createTcpServer((socket) => accepted.push(socket));
    const port = await listenOnLoopback(silent);
    try {
      const result = await probeHttp(ctx(`https://127.0.0.1:${port}/ok`, httpModule({ timeout: 0.3 })));
      expect(result).toMatchObject({ ok: false, reason: 'timeout' });
      expect(accepted).toHaveLength(1);
      // The prober destroyed its socket: the server sees the end of the connection.
      await new Promise<void>((resolve) => (accepted[0]!.readableEnded || accepted[0]!.destroyed ? resolve() : accepted[0]!.once('close', () => resolve()).resume()));
    } finally {
      for (const socket of accepted) socket.destroy();
      silent.close();
    }
  });

  it('can skip verification when told to', async () => {
    expect((await probeHttp(ctx(`${base}/ok`, httpModule({ tls: { insecure_skip_verify: true } })))).ok).toBe(true);
  });
});
