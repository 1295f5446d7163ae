// Basic-auth guessing (issue #13): a source past its failed logins gets 429 with Retry-After and
// costs no bcrypt compare; credentials verified before still pass; failures are logged once, then
// summarised. Logs are read from a captured pino stream.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SummarizedLog } from '../../lib/log-summary.js';
import { FAILED_LOGINS } from '../../web/gate.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { capturedLogger } from '../responder/support.js';

const HASH = bcrypt.hashSync('right-password', 4);
const basic = (userPassword: string) => `Basic ${Buffer.from(userPassword).toString('base64')}`;

/** GET /metrics from a chosen loopback source address. */
function get(port: number, authorization: string, localAddress = '127.0.0.1'): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', localAddress, headers: { Authorization: authorization } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('failed basic-auth logins per source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-failed-logins-'));
  const { log, output } = capturedLogger();
  let server: WebServer;
  beforeAll(async () => {
    const webConfigFile = join(dir, 'web.yml');
    writeFileSync(webConfigFile, `basic_auth_users:\n  prometheus: ${HASH}\n`);
    server = await startWebServer({ listen: { address: '127.0.0.1', port: 0 }, webConfigFile, handler: (_req, res) => res.end('ok\n'), log });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${FAILED_LOGINS.burst} wrong passwords get 401, then 429 with Retry-After; a known-good login and other sources still pass`, async () => {
    expect((await get(server.port, basic('prometheus:right-password'))).status).toBe(200);
    const answers = [];
    for (let i = 0; i < FAILED_LOGINS.burst + 2; i++) answers.push(await get(server.port, basic(`prometheus:guess-${i}`)));
    expect(answers.slice(0, FAILED_LOGINS.burst).map((a) => a.status)).toEqual(Array(FAILED_LOGINS.burst).fill(401));
    for (const answer of answers.slice(FAILED_LOGINS.burst)) {
      expect(answer.status).toBe(429);
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60 / FAILED_LOGINS.perMinute);
    }
    // Verified before: served from the cache, no compare, so not refused.
    expect((await get(server.port, basic('prometheus:right-password'))).status).toBe(200);
    // Another source is not affected.
    expect((await get(server.port, basic('prometheus:guess'), '127.0.0.2')).status).toBe(401);
    const lines = output().split('\n').filter((line) => line.includes('basic auth failed'));
    expect(lines, 'one line now; the rest summarised at the end of the interval').toHaveLength(1);
  });

  it('concurrent guesses cannot all pass on the same allowance: at most the burst get a bcrypt compare', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => get(server.port, basic(`prometheus:parallel-${i}`), '127.0.0.3')));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(FAILED_LOGINS.burst);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - FAILED_LOGINS.burst);
  });
});

describe('SummarizedLog', () => {
  it('logs the first event at once and the rest of each interval as one line', () => {
    vi.useFakeTimers();
    try {
      const { log, output } = capturedLogger();
      const summary = new SummarizedLog(log, 'refused', 10_000);
      for (let i = 0; i < 300; i++) summary.record(i % 2 ? 'a' : 'b', `10.0.0.${i % 7}`);
      expect(output().trim().split('\n')).toHaveLength(1);
      vi.advanceTimersByTime(10_000);
      const lines = output().trim().split('\n').map((line) => JSON.parse(line) as { count?: number; reasons?: Record<string, number>; sources?: number });
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatchObject({ count: 299, reasons: { a: 150, b: 149 }, sources: 7 });
      vi.advanceTimersByTime(30_000);
      expect(output().trim().split('\n')).toHaveLength(2);
      summary.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
