import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTcp } from '../../../agent/probes/tcp.js';
import type { ModuleOf } from '../../../agent/probes/types.js';
import { freeLoopbackPort, listenOnLoopback } from '../../support/ports.js';

const tcp = (overrides: Partial<ModuleOf<'tcp'>> = {}): ModuleOf<'tcp'> => ({ kind: 'tcp', interval: 5, timeout: 1, ...overrides });
const ctx = (host: string, port: number, module = tcp()) => ({
  target: { name: 't', module: 'tcp', host, port, labels: {} },
  module,
  labels: { target: 't', kind: 'tcp' },
  signal: new AbortController().signal,
});

describe('TCP connect probe (loopback)', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    port = await listenOnLoopback(server);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('measures the connect time to a listening port', async () => {
    const result = await probeTcp(ctx('127.0.0.1', port));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.durationSeconds).toBeGreaterThan(0);
      expect(result.durationSeconds).toBeLessThan(1);
    }
  });

  it('reports a closed port as refused', async () => {
    const closedPort = await freeLoopbackPort();
    expect(await probeTcp(ctx('127.0.0.1', closedPort))).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('resolves names through the system resolver (localhost comes from /etc/hosts, no DNS traffic)', async () => {
    expect(await probeTcp(ctx('localhost', port))).toMatchObject({ ok: true });
  });

  it('gives up when the agent stops', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await probeTcp({ ...ctx('127.0.0.1', port), signal: controller.signal });
    expect(result.ok).toBe(false);
  });
});
