// The responder's HTTP API on loopback: each protection gets its documented answer, is counted,
// and the responder keeps serving other clients. Contract: docs/responder.md.
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningResponder } from '../../responder/server.js';
import { waitFor } from '../support/linkmon-process.js';
import { metricValue, OTHER_TOKEN, startTestResponder, TOKEN } from './support.js';

const MAX_BYTES = 50_000_000;
const auth = (token = TOKEN) => ({ Authorization: `Bearer ${token}` });

describe('responder HTTP API (loopback)', () => {
  let responder: RunningResponder & { output: () => string };
  let base: string;
  const metric = (name: string, labels: Record<string, string> = {}) => metricValue(responder.registry, name, labels);
  const rejections = (endpoint: string, reason: string) => metric('linkmon_responder_rejections_total', { endpoint, reason });
  const aborted = (endpoint: string, reason: string) => metric('linkmon_responder_tests_aborted_total', { endpoint, reason });
  const active = () => Promise.all([metric('linkmon_responder_tests_active', { endpoint: 'download' }), metric('linkmon_responder_tests_active', { endpoint: 'upload' })]).then(([d, u]) => d + u);
  const slotsFree = () => waitFor('all test slots free', async () => ((await active()) === 0 ? true : undefined), 5000, 20);

  /** A short authorised download: proof that the responder still serves others. */
  const stillServing = async () => {
    const res = await fetch(`${base}/download?bytes=1000`, { headers: auth() });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(1000);
  };

  beforeAll(async () => {
    // The trickling uploads below send every 100 ms; an idle timeout of 1 s leaves them 900 ms of
    // this process being held up (GC, a loaded box) before they count as stalled. At 300 ms, a
    // 3-runs-under-stress-ng check saw the time-cap upload answered 408 stalled once.
    responder = await startTestResponder({
      udp: { enabled: false },
      limits: { max_bytes: MAX_BYTES, max_seconds: '2s', max_concurrent: 2, idle_timeout: '1s' },
    });
    base = `http://127.0.0.1:${responder.ports.http}`;
  });
  afterAll(() => responder?.stop());

  it('serves /latency, /healthz and /metrics without a token', async () => {
    const latency = await fetch(`${base}/latency`);
    expect([latency.status, await latency.text()]).toEqual([200, 'ok\n']);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('linkmon_responder_rejections_total');
    // As Prometheus asks (web/exposition.ts): OpenMetrics, gzip (fetch sends Accept-Encoding and decompresses).
    const openMetrics = await fetch(`${base}/metrics`, { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
    expect(openMetrics.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(openMetrics.headers.get('content-encoding')).toBe('gzip');
    expect(await openMetrics.text()).toMatch(/^# TYPE linkmon_responder_rejections counter$[\s\S]*\n# EOF\n$/m);
  });

  it('download: exactly N bytes by size, a clean end by duration, incompressible payload', async () => {
    const bySize = await fetch(`${base}/download?bytes=3000000`, { headers: auth() });
    expect(bySize.headers.get('content-length')).toBe('3000000');
    const body = Buffer.from(await bySize.arrayBuffer());
    expect(body.length).toBe(3_000_000);
    expect(new Set(body.subarray(0, 4096)).size).toBeGreaterThan(200);
    const byTime = await fetch(`${base}/download?seconds=0.3`, { headers: auth(OTHER_TOKEN) });
    expect(byTime.status).toBe(200);
    expect((await byTime.arrayBuffer()).byteLength).toBeGreaterThan(0);
    await slotsFree();
  });

  it('upload: counts and discards the body and reports bytes and seconds', async () => {
    const res = await fetch(`${base}/upload`, { method: 'POST', headers: auth(), body: Buffer.alloc(2_000_000, 7) });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as { bytes: number; seconds: number };
    expect(reply.bytes).toBe(2_000_000);
    expect(reply.seconds).toBeGreaterThanOrEqual(0);
  });

  it('missing or wrong token: 401 with a JSON body, counted, and the token never logged', async () => {
    const before = await rejections('download', 'unauthorized');
    const missing = await fetch(`${base}/download?bytes=10`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="linkmon"');
    expect(await missing.json()).toMatchObject({ error: 'unauthorized' });
    const wrongToken = 'wrong-token-that-is-long-enough';
    const wrong = await fetch(`${base}/download?bytes=10`, { headers: auth(wrongToken) });
    expect(wrong.status).toBe(401);
    const upload = await fetch(`${base}/upload`, { method: 'POST', headers: { Authorization: 'Basic dXNlcjpwYXNz' }, body: 'x' });
    expect(upload.status).toBe(401);
    expect(await rejections('download', 'unauthorized')).toBe(before + 2);
    expect(await rejections('upload', 'unauthorized')).toBe(1);
    await stillServing();
    const logs = responder.output();
    expect(logs).toContain('"reason":"unauthorized"');
    for (const secret of [TOKEN, OTHER_TOKEN, wrongToken, 'dXNlcjpwYXNz']) expect(logs).not.toContain(secret);
  });

  it('bad parameters: 400; over the caps: 413 with the limit', async () => {
    for (const query of ['', 'bytes=0', 'bytes=abc', 'seconds=-1', 'bytes=10&seconds=1']) {
      const res = await fetch(`${base}/download?${query}`, { headers: auth() });
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'bad_request' });
    }
    const tooBig = await fetch(`${base}/download?bytes=${MAX_BYTES + 1}`, { headers: auth() });
    expect([tooBig.status, await tooBig.json()]).toEqual([413, expect.objectContaining({ error: 'too_large', limit_bytes: MAX_BYTES })]);
    const tooLong = await fetch(`${base}/download?seconds=3`, { headers: auth() });
    expect([tooLong.status, await tooLong.json()]).toEqual([413, expect.objectContaining({ error: 'too_long', limit_seconds: 2 })]);
    expect(await rejections('download', 'bad_request')).toBe(5);
    expect(await rejections('download', 'too_large')).toBe(1);
    expect(await rejections('download', 'too_long')).toBe(1);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/upload`, { headers: auth() })).status).toBe(405);
    await stillServing();
  });

  it('oversize upload by Content-Length: 413 at once, before the body is sent', async () => {
    const socket = await rawConnect(responder.ports.http!);
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${MAX_BYTES * 10}\r\n\r\n`);
    const reply = await readUntil(socket, '\r\n\r\n{');
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toMatch(/connection: close/i);
    socket.destroy();
    expect(await rejections('upload', 'too_large')).toBe(1);
    await stillServing();
  });

  it('oversize chunked upload: 413 as soon as the cap is passed, and the responder stops reading', async () => {
    const res = await fetch(`${base}/upload`, {
      method: 'POST',
      headers: auth(),
      body: endlessBody(),
      duplex: 'half',
    } as RequestInit).catch((err: unknown) => err);
    // Either the 413 arrives or the connection is closed under the still-sending client.
    if (res instanceof Response) expect([res.status, await res.json()]).toEqual([413, expect.objectContaining({ error: 'too_large' })]);
    await waitFor('the byte-cap rejection', async () => ((await rejections('upload', 'too_large')) === 2 ? true : undefined), 5000, 20);
    const received = await metric('linkmon_responder_test_bytes_total', { direction: 'site_to_dc' });
    expect(received).toBeLessThan(MAX_BYTES + 3_000_000);
    await slotsFree();
    await stillServing();
  });

  it('too many concurrent tests: 429 with Retry-After; other endpoints still answer; slots come back', async () => {
    const holders = await Promise.all([openTricklingUpload(), openTricklingUpload()]);
    await waitFor('both slots taken', async () => ((await active()) === 2 ? true : undefined), 5000, 20);
    try {
      const busy = await fetch(`${base}/download?bytes=10`, { headers: auth() });
      expect(busy.status).toBe(429);
      const retryAfter = Number(busy.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(2);
      expect(await busy.json()).toMatchObject({ error: 'busy', retry_after_seconds: retryAfter });
      expect(await rejections('download', 'busy')).toBe(1);
      expect((await fetch(`${base}/latency`)).status).toBe(200);
    } finally {
      for (const holder of holders) holder.destroy();
    }
    await slotsFree();
    await stillServing();
  });

  it('parallel streams of one test (same X-Linkmon-Test-Id) share one slot', async () => {
    const streams = await Promise.all([1, 2, 3].map(() => openTricklingUpload('site-esb-42')));
    const other = await openTricklingUpload();
    try {
      await waitFor('four uploads running', async () => ((await active()) === 4 ? true : undefined), 5000, 20);
      const busy = await fetch(`${base}/download?bytes=10`, { headers: { ...auth(), 'X-Linkmon-Test-Id': 'site-bcu-7' } });
      expect(busy.status).toBe(429);
      await busy.body?.cancel();
      const sameTest = await fetch(`${base}/download?bytes=10`, { headers: { ...auth(), 'X-Linkmon-Test-Id': 'site-esb-42' } });
      expect(sameTest.status).toBe(200);
      await sameTest.arrayBuffer();
      const badId = await fetch(`${base}/download?bytes=10`, { headers: { ...auth(), 'X-Linkmon-Test-Id': 'not ok!' } });
      expect(badId.status).toBe(400);
      await badId.body?.cancel();
    } finally {
      for (const stream of [...streams, other]) stream.destroy();
    }
    await slotsFree();
  });

  it('starts with any idle_timeout the config accepts (1001ms: the request timeout would be 41001.00000000001 ms)', async () => {
    const other = await startTestResponder({ udp: { enabled: false }, tcp: { enabled: false }, limits: { idle_timeout: '1001ms' } });
    await other.stop();
  });

  it('stalled download (client stops reading): aborted after the idle timeout, slot freed, counted', async () => {
    const before = await aborted('download', 'stalled');
    const holder = await openStalledDownload();
    try {
      await waitFor('stalled download aborted', async () => ((await aborted('download', 'stalled')) === before + 1 ? true : undefined), 5000, 20);
    } finally {
      holder.destroy();
    }
    await slotsFree();
    await stillServing();
  });

  it('stalled upload (client stops sending): 408 stalled, slot freed, counted', async () => {
    const socket = await rawConnect(responder.ports.http!);
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000000\r\n\r\n`);
    socket.write(Buffer.alloc(1000));
    const reply = await readUntil(socket, '}');
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toContain('"error":"stalled"');
    socket.destroy();
    expect(await aborted('upload', 'stalled')).toBe(1);
    await slotsFree();
    await stillServing();
  });

  it('client disconnects mid-download: slot freed at once and counted', async () => {
    const before = await aborted('download', 'disconnected');
    await new Promise<void>((resolve, reject) => {
      const req = request(`${base}/download?bytes=${MAX_BYTES}`, { headers: auth() }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.once('error', reject);
      req.end();
    });
    await waitFor('disconnect counted', async () => ((await aborted('download', 'disconnected')) === before + 1 ? true : undefined), 5000, 20);
    await slotsFree();
    await stillServing();
  });

  it('upload still running at max_seconds: 413 too_long, counted as time_cap', async () => {
    const socket = await rawConnect(responder.ports.http!);
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const trickle = setInterval(() => socket.write('10\r\n0123456789abcdef\r\n'), 100);
    try {
      const reply = await readUntil(socket, '}');
      expect(reply).toMatch(/^HTTP\/1\.1 413 /);
      expect(reply).toContain('"error":"too_long"');
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    expect(await aborted('upload', 'time_cap')).toBe(1);
    await slotsFree();
    await stillServing();
  });

  /** An upload that sends a little every 100 ms: it holds its slot (no stall) until the time cap. */
  async function openTricklingUpload(testId?: string): Promise<{ destroy(): void }> {
    const socket = await rawConnect(responder.ports.http!);
    socket.on('error', () => {});
    const idHeader = testId === undefined ? '' : `X-Linkmon-Test-Id: ${testId}\r\n`;
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${idHeader}Transfer-Encoding: chunked\r\n\r\n`);
    const trickle = setInterval(() => socket.write('4\r\nabcd\r\n'), 100);
    return { destroy: () => (clearInterval(trickle), socket.destroy()) };
  }

  /** Starts a big download and never reads it: the socket buffers fill and the server waits. */
  function openStalledDownload(): Promise<IncomingMessage & { destroy(): void }> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}/download?bytes=${MAX_BYTES}`, { headers: auth() }, (res) => {
        res.pause();
        res.on('error', () => {});
        resolve(Object.assign(res, { destroy: () => req.destroy() }));
      });
      req.on('error', () => {});
      req.once('error', reject);
      req.end();
    });
  }
});

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads from `socket` until `marker` has been seen (bounded: 5 s). */
function readUntil(socket: Socket, marker: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no "${marker}" within 5 s; got ${JSON.stringify(text)}`)), 5000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes(marker)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
}

/** A request body that would go on for ever, bounded by the test: 1 MiB chunks, at most 200. */
function endlessBody(): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1024 * 1024);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (++sent > 200) controller.close();
      else controller.enqueue(chunk);
    },
  });
}
