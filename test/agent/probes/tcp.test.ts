// The dead-host cases use test/support/syn-sink.ts (Debian package python3).
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptDeadline } from '../../../agent/probes/deadline.js';
import { probeTcp } from '../../../agent/probes/tcp.js';
import { connectWithin } from '../../../agent/probes/tcp-connect.js';
import type { ModuleOf } from '../../../agent/probes/types.js';
import { freeLoopbackPort, listenOnLoopback } from '../../support/ports.js';
import { killOnProcessExit } from '../../support/exit-cleanup.js';
import { startSynSink, type SynSink } from '../../support/syn-sink.js';

interface Closer {
  port: number;
  stop(): Promise<void>;
}

/** A listener in a Python process (Debian python3) that closes each connection as soon as it accepts it. */
async function startCloser(): Promise<Closer> {
  const child = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(16); print(s.getsockname()[1], flush=True)\nwhile True: s.accept()[0].close()'], { stdio: ['ignore', 'pipe', 'inherit'] });
  killOnProcessExit(child);
  const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line))));
  return { port, stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
}

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
  let closer: Closer;
  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    port = await listenOnLoopback(server);
    closer = await startCloser();
  });
  afterAll(async () => {
    await closer.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('measures the connect time to a listening port', async () => {
    const result = await probeTcp(ctx('127.0.0.1', port));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.durationSeconds).toBeGreaterThan(0);
      expect(result.durationSeconds).toBeLessThan(1);
    }
  });

  it.each([
    ['a listener in this process', () => port],
    ['a listener in another process that closes at once (the peer FIN is in before the event loop sees the connection)', () => closer.port],
  ])("takes the connect time from the kernel's handshake RTT, which a busy event loop cannot inflate: %s", async (_what, target) => {
    const STALL_MS = 50;
    const deadline = new AttemptDeadline(5, new AbortController().signal);
    const connecting = connectWithin('127.0.0.1', target(), deadline, 'loopback');
    // net.connect() sends the SYN on the next tick; the stall comes after it, before the 'connect' event.
    setImmediate(() => {
      const until = performance.now() + STALL_MS;
      while (performance.now() < until);
    });
    const connected = await connecting;
    deadline.clear();
    if ('reason' in connected) expect.fail(connected.detail);
    connected.socket.destroy();
    expect(connected.clock).toBe('kernel');
    expect(connected.connectSeconds * 1000).toBeLessThan(STALL_MS);
  });

  it('reports a closed port as refused', async () => {
    const closedPort = await freeLoopbackPort();
    expect(await probeTcp(ctx('127.0.0.1', closedPort))).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('resolves localhost from /etc/hosts (no DNS traffic)', async () => {
    expect(await probeTcp(ctx('localhost', port))).toMatchObject({ ok: true });
  });

  it('gives up when the agent stops', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await probeTcp({ ...ctx('127.0.0.1', port), signal: controller.signal });
    expect(result.ok).toBe(false);
  });
});

describe('TCP connect probe to a host that drops SYNs', () => {
  let sink: SynSink;
  beforeAll(async () => {
    sink = await startSynSink();
  });
  afterAll(() => sink.close());

  it('fails with reason timeout, whatever duration the config gave (1001ms is 1000.9999999999999 ms once in seconds)', async () => {
    const results = await Promise.all([0.3, 1001 / 1000].map((timeout) => probeTcp(ctx('127.0.0.1', sink.port, tcp({ timeout })))));
    for (const result of results) expect(result).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('stops a stuck connect when the agent stops', async () => {
    const controller = new AbortController();
    const probing = probeTcp({ ...ctx('127.0.0.1', sink.port, tcp({ timeout: 30 })), signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await probing).toMatchObject({ ok: false });
  });
});
