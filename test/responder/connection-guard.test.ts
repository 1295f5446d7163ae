// Connection admission on the responder (issue #13): per-source limit, eviction of the connection
// idle longest when full (never one being served), parser errors answered and counted. Loopback
// source addresses 127.0.0.x stand for different clients. The 10 s header deadline itself is checked
// against a real process in test/e2e/responder-abuse.test.ts.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningResponder } from '../../responder/server.js';
import { waitFor } from '../support/linkmon-process.js';
import { metricValue, startTestResponder, TOKEN } from './support.js';

type Responder = RunningResponder & { output: () => string };

/** An open connection from `localAddress` that sends nothing; `socket.closed` tells when the server dropped it. */
function open(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => {
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends raw bytes and resolves with the whole answer once the server closes. */
function exchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.once('close', () => resolve(answer));
    socket.write(bytes);
  });
}

describe('responder connection guard', () => {
  let responder: Responder | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await responder?.stop();
  });
  const start = async (limits: Record<string, unknown>) => {
    responder = await startTestResponder({ udp: { enabled: false }, tcp: { enabled: false }, limits: { max_concurrent: 4, ...limits } });
    return responder.ports.http!;
  };
  const rejected = (reason: string) => metricValue(responder!.registry, 'linkmon_responder_rejections_total', { endpoint: 'connection', reason });
  const latencyOk = async (port: number) => (await fetch(`http://127.0.0.1:${port}/latency`)).status === 200;

  it('closes a source’s connections past max_connections_per_source at once; other sources are served', async () => {
    const port = await start({ max_connections_per_source: 20, max_streams_per_test: 16 });
    for (let i = 0; i < 25; i++) sockets.push(await open(port, '127.0.0.2'));
    await waitFor('5 refused', async () => ((await rejected('per_source_limit')) === 5 ? true : undefined), 5000, 20);
    await waitFor('the 5 closed', () => (sockets.filter((s) => s.closed).length === 5 ? true : undefined), 5000, 20);
    expect(await latencyOk(port)).toBe(true);
  });

  it('when full, a new connection evicts the one idle longest; a connection being served is never evicted', async () => {
    const port = await start({ max_connections: 10, max_connections_per_source: 32 });
    // A download held open by a client that does not read: busy the whole time.
    const busy = await open(port, '127.0.0.9');
    sockets.push(busy);
    busy.write(`GET /download?seconds=20 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    busy.pause();
    await waitFor('the download running', async () => ((await metricValue(responder!.registry, 'linkmon_responder_tests_active', { endpoint: 'download' })) === 1 ? true : undefined), 5000, 20);
    // Slow-header clients from many addresses fill every other place.
    for (let i = 0; i < 30; i++) sockets.push(await open(port, `127.0.1.${i + 1}`));
    for (let i = 0; i < 20; i++) expect(await latencyOk(port), `legitimate request ${i}`).toBe(true);
    // 30 idle connections for the 9 places the download leaves: at least 21 evicted.
    expect(await rejected('evicted')).toBeGreaterThanOrEqual(21);
    expect(await rejected('connection_limit')).toBe(0);
    expect(busy.closed).toBe(false);
  });

  it('answers and counts parser errors: 400 malformed, 431 headers too large', async () => {
    const port = await start({});
    expect(await exchange(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(await exchange(port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a]))).toMatch(/^HTTP\/1\.1 400 /);
    expect(await exchange(port, `GET /latency HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await rejected('malformed')).toBe(2);
    expect(await rejected('headers_too_large')).toBe(1);
    expect(await latencyOk(port)).toBe(true);
  });
});
