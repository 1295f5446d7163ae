// Throughput probe against the real responder (in-process, loopback) and against loopback servers
// that misbehave on purpose. Uses the openssl CLI (Debian package openssl) for the HTTPS cases.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throughputModuleSchema } from '../../../agent/config/schema.js';
import { runThroughputDirection } from '../../../agent/throughput/run-direction.js';
import { measureTransfer, parseRetryAfter, type TransferOptions } from '../../../agent/throughput/transfer.js';
import { parseResponderConfigText } from '../../../responder/config.js';
import { startResponder, type RunningResponder } from '../../../responder/server.js';
import { createTestPki, type TestPki } from '../../support/certs.js';
import { listenOnLoopback } from '../../support/ports.js';

const TOKEN = 'throughput-test-token-0123456789';
const silent = pino({ level: 'silent' });

function transfer(baseUrl: string, overrides: Partial<TransferOptions> = {}): TransferOptions {
  return {
    baseUrl,
    direction: 'download',
    streams: 1,
    amount: { bytes: 4_000_000 },
    warmupSeconds: 0,
    maxBytes: 1e9,
    maxSeconds: 20,
    stallSeconds: 5,
    token: TOKEN,
    ...overrides,
  };
}

const module = (fields: Record<string, unknown> = {}) => throughputModuleSchema.parse({ kind: 'throughput', schedule: '0 * * * *', ...fields });
const target = (url: string) => ({ name: 'dc', module: 'tp', url, labels: {} });

describe('throughput transfer against the responder', () => {
  let responder: RunningResponder;
  let pki: TestPki;
  let http: string;
  let https: string;

  beforeAll(async () => {
    pki = createTestPki({ name: 'throughput' });
    const config = parseResponderConfigText(
      [
        'listen: { address: 127.0.0.1 }',
        'http: { port: 0 }',
        `https: { port: 0, cert_file: ${pki.files.serverCert}, key_file: ${pki.files.serverKey} }`,
        'tcp: { enabled: false }',
        'udp: { enabled: false }',
        'auth: { token_env: UNUSED }',
        'limits: { max_concurrent: 3, max_seconds: 10s, max_bytes: 100GiB }',
      ].join('\n'),
      'inline.yaml',
    );
    responder = await startResponder({ ...config, tokens: [TOKEN], tlsCredentials: { cert: Buffer.from(pki.serverCert), key: Buffer.from(pki.serverKey) } }, silent);
    http = `http://127.0.0.1:${responder.ports.http}/`;
    https = `https://127.0.0.1:${responder.ports.https}`;
  });
  afterAll(async () => {
    await responder?.stop();
    pki?.cleanup();
  });

  it('downloads by size over parallel streams and counts every byte', async () => {
    let seen = 0;
    const result = await measureTransfer(transfer(http, { streams: 3, amount: { bytes: 30_000_001 }, onBytes: (n) => (seen += n) }));
    expect(result).toMatchObject({ outcome: 'ok', direction: 'download', totalBytes: 30_000_001, warmupExcluded: true });
    expect(seen).toBe(30_000_001);
    if (result.outcome !== 'ok') return;
    expect(result.measuredBytes).toBeGreaterThan(0);
    expect(result.measuredBytes).toBeLessThanOrEqual(result.totalBytes);
    expect(result.bytesPerSecond).toBeCloseTo(result.measuredBytes / result.measuredSeconds, 6);
  });

  it('uploads for a duration; the responder confirms each stream byte for byte', async () => {
    let seen = 0;
    const result = await measureTransfer(transfer(http, { direction: 'upload', streams: 2, amount: { seconds: 0.5 }, warmupSeconds: 0.1, onBytes: (n) => (seen += n) }));
    expect(result).toMatchObject({ outcome: 'ok', direction: 'upload', warmupExcluded: true });
    expect(seen).toBe(result.totalBytes);
    // A mismatch between the agent's count and the responder's JSON would have failed the test.
    expect(result.totalBytes).toBeGreaterThan(0);
  });

  it('stops an upload exactly at max_bytes and still reports the rate measured so far', async () => {
    const result = await measureTransfer(transfer(http, { direction: 'upload', streams: 2, amount: { seconds: 5 }, maxBytes: 20_000_000 }));
    expect(result).toMatchObject({ outcome: 'ok', stoppedBy: 'max_bytes', totalBytes: 20_000_000 });
  });

  it('stops a download at max_bytes', async () => {
    const result = await measureTransfer(transfer(http, { amount: { seconds: 5 }, maxBytes: 20_000_000 }));
    expect(result).toMatchObject({ outcome: 'ok', stoppedBy: 'max_bytes' });
    expect(result.totalBytes).toBeGreaterThanOrEqual(20_000_000);
  });

  it.each(['download', 'upload'] as const)('stops a %s at max_duration and reports the rate measured so far', async (direction) => {
    const result = await measureTransfer(transfer(http, { direction, amount: { bytes: 50e9 }, warmupSeconds: 0.1, maxSeconds: 0.5 }));
    expect(result).toMatchObject({ outcome: 'ok', stoppedBy: 'max_duration', warmupExcluded: true });
  });

  it('falls back to the whole transfer when it ends within the warm-up, and says so', async () => {
    const result = await measureTransfer(transfer(http, { amount: { bytes: 100_000 }, warmupSeconds: 5 }));
    expect(result).toMatchObject({ outcome: 'ok', warmupExcluded: false, measuredBytes: 100_000 });
  });

  it('verifies the responder certificate with tls.ca_file and fails as tls without it', async () => {
    const signal = new AbortController().signal;
    const tokenFromEnv = { bytes: '1MB', token_env: 'LINKMON_TEST_TP_TOKEN' };
    // Unset variable: the test fails before any connection, naming the variable (not a link failure).
    const unset = await runThroughputDirection(target(https), module({ ...tokenFromEnv, tls: { ca_file: pki.files.ca } }), 'download', { signal });
    expect(unset).toMatchObject({ outcome: 'failed', reason: 'error', detail: 'environment variable LINKMON_TEST_TP_TOKEN (token_env) is not set' });

    process.env.LINKMON_TEST_TP_TOKEN = TOKEN;
    try {
      const trusted = await runThroughputDirection(target(https), module({ ...tokenFromEnv, tls: { ca_file: pki.files.ca } }), 'download', { signal });
      expect(trusted).toMatchObject({ outcome: 'ok', totalBytes: 1_000_000 });
      const untrusted = await runThroughputDirection(target(https), module(tokenFromEnv), 'download', { signal });
      expect(untrusted).toMatchObject({ outcome: 'failed', reason: 'tls' });
    } finally {
      delete process.env.LINKMON_TEST_TP_TOKEN;
    }
  });

  it('reports a wrong token as http_status 401 and never repeats the token', async () => {
    const result = await measureTransfer(transfer(http, { token: 'not-the-right-token-at-all' }));
    expect(result).toMatchObject({ outcome: 'failed', reason: 'http_status', detail: 'download: status 401 (unauthorized)' });
    const missingFile = await runThroughputDirection(target(http), module({ bytes: '1MB', token_file: '/nonexistent/token' }), 'upload', { signal: new AbortController().signal });
    expect(missingFile).toMatchObject({ outcome: 'failed', reason: 'error', detail: 'token_file: cannot read /nonexistent/token (file not found)' });
  });

  it('reports more untagged streams than the responder has slots as busy, not as a failure', async () => {
    const result = await measureTransfer(transfer(http, { streams: 4, amount: { seconds: 1 } }));
    expect(result.outcome).toBe('busy');
    if (result.outcome === 'busy') expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('aborts promptly on shutdown', async () => {
    const controller = new AbortController();
    const running = measureTransfer(transfer(http, { amount: { seconds: 5 }, signal: controller.signal }));
    setTimeout(() => controller.abort(), 200);
    expect((await running).outcome).toBe('aborted');
  });

  // Last in this block: a tagged test keeps its slot for 2 s after it ends (docs/responder.md).
  it('runs more streams than the responder has slots as one test when they share a test id', async () => {
    const result = await measureTransfer(transfer(http, { streams: 4, amount: { bytes: 8_000_000 }, testId: 'esb-tagged-test' }));
    expect(result.outcome).toBe('ok');
    expect(result.totalBytes).toBe(8_000_000);
  });

  it('tags every request of a configured test with one test id, so 4 streams fit one slot', async () => {
    process.env.LINKMON_TEST_TP_TAGGED = TOKEN;
    try {
      const result = await runThroughputDirection(target(http), module({ bytes: '8MB', streams: 4, warmup: '0s', token_env: 'LINKMON_TEST_TP_TAGGED' }), 'download', { signal: new AbortController().signal });
      expect(result.outcome).toBe('ok');
    } finally {
      delete process.env.LINKMON_TEST_TP_TAGGED;
    }
  });
});

/** Each path prefix misbehaves in one way, as a broken or overloaded far end might. */
function misbehave(req: IncomingMessage, res: ServerResponse): void {
  const [, behaviour, endpoint] = (req.url ?? '').split('?')[0]!.split('/');
  const megabyte = Buffer.alloc(1 << 20);
  switch (`${behaviour}/${endpoint}`) {
    case 'reset/download':
      res.writeHead(200, { 'Content-Length': String(100 << 20) });
      res.write(megabyte, () => setTimeout(() => req.socket.resetAndDestroy(), 20));
      return;
    case 'short/download':
      res.writeHead(200, { 'Content-Length': String(100 << 20) });
      res.write(megabyte, () => req.socket.end());
      return;
    case 'stall/download':
      res.writeHead(200, { 'Content-Length': String(100 << 20) });
      res.write(megabyte);
      return; // and nothing more
    case 'error/download':
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error');
      return;
    case 'busy/download':
      res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' }).end('{"error":"busy","retry_after_seconds":1}');
      return;
    case 'auth/download':
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    case 'stall/upload':
      return; // never reads the body: the client's socket buffer fills and stays full
    case 'reset/upload': {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > 1 << 20) req.socket.resetAndDestroy();
      });
      return;
    }
    case 'liar/upload':
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"bytes":5,"seconds":0.1}'));
      return;
    default:
      res.writeHead(404).end();
  }
}

describe('throughput fault paths (misbehaving loopback server)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer(misbehave);
    base = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['reset/', 'download', 'reset'],
    ['short/', 'download', 'reset'],
    ['stall/', 'download', 'timeout'],
    ['error/', 'download', 'http_status'],
    ['auth/', 'download', 'http_status'],
    ['stall/', 'upload', 'timeout'],
    ['reset/', 'upload', 'reset'],
    ['liar/', 'upload', 'error'],
  ] as const)('%s%s fails with reason %s', async (path, direction, reason) => {
    const result = await measureTransfer(transfer(`${base}/${path}`, { direction, amount: { bytes: 50 << 20 }, stallSeconds: 0.5 }));
    expect(result).toMatchObject({ outcome: 'failed', reason });
  });

  it('counts a refused connection as refused', async () => {
    const closed = createServer();
    const port = await listenOnLoopback(closed);
    await new Promise((resolve) => closed.close(resolve));
    const result = await measureTransfer(transfer(`http://127.0.0.1:${port}/`));
    expect(result).toMatchObject({ outcome: 'failed', reason: 'refused' });
  });

  it('treats 429 as busy, honours Retry-After and retries busy_retries times', async () => {
    const once = await measureTransfer(transfer(`${base}/busy/`));
    expect(once).toMatchObject({ outcome: 'busy', retryAfterSeconds: 1 });
    const retried = await runThroughputDirection(target(`${base}/busy/`), module({ bytes: '1MB', busy_retries: 1 }), 'download', { signal: new AbortController().signal });
    expect(retried).toMatchObject({ outcome: 'busy', busyAnswers: 1 });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 30_000)).toBe(30);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
