// Responder abuse against a real responder process on loopback (issue #13): slowloris from one
// address and from many, malformed HTTP, token guessing, oversized and stalled bodies, UDP garbage
// and floods. Each is refused and counted by reason, while legitimate clients (an in-test client
// and a real agent probing HTTP, TCP and UDP from 127.0.0.1) are unaffected. Loopback addresses
// 127.0.0.x stand for different hosts. Runtime ~25 s, most of it the 15 s slowloris window.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumSamples, type ExpositionSample } from '../support/exposition.js';
import { metricsUrlFromLog, startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';

const TOKEN = 'abuse-test-token-0123456789';
const ONE_SOURCE_SECONDS = 11.5;
const MANY_SOURCES_SECONDS = 4;
const HEADER_DEADLINE_SECONDS = 10;

interface Ports {
  http: number;
  tcp: number;
  udp: number;
}

/** Opens `count` slow-header connections from `localAddress`, one header byte per second each, reopened 1 s after the server drops one. */
function slowloris(port: number, localAddress: string, count: number) {
  const open = new Set<Socket>();
  /** Lifetimes (s) of connections the server accepted and then closed with an answer (408). */
  const answeredAfter: number[] = [];
  let stopped = false;
  const line = 'GET /latency HTTP/1.1\r\nHost: responder\r\nX-Padding: ';
  const start = () => {
    if (stopped) return;
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const opened = performance.now();
    let sent = 0;
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', () => (answered = true));
    socket.once('connect', () => open.add(socket));
    (socket as Socket & { drip?: () => void }).drip = () => socket.write(line[sent++] ?? 'a');
    socket.once('close', () => {
      open.delete(socket);
      if (answered) answeredAfter.push((performance.now() - opened) / 1000);
      setTimeout(start, 1000).unref();
    });
  };
  for (let i = 0; i < count; i++) start();
  const ticker = setInterval(() => {
    for (const socket of open) (socket as Socket & { drip: () => void }).drip();
  }, 1000);
  return {
    answeredAfter,
    stop: () => {
      stopped = true;
      clearInterval(ticker);
      for (const socket of open) socket.destroy();
    },
  };
}

/** GET /latency on a fresh connection (like a probe); true on 200 within 5 s. */
function legitimateRequest(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/latency', agent: false, localAddress: '127.0.0.1', timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** Raw bytes to the responder; resolves with the answer once the server closes (or after `waitMs`). */
function raw(port: number, bytes: string, waitMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(bytes);
  });
}

describe('responder abuse (real processes on loopback)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-abuse-'));
  let responder: LinkmonProcess;
  let agent: LinkmonProcess;
  let ports: Ports;
  let agentMetrics: string;
  const responderSamples = async () => parseExposition(await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text());
  const rejected = (samples: ExpositionSample[], endpoint: string, reason: string) => sumSamples(samples, 'linkmon_responder_rejections_total', { endpoint, reason });
  const agentSamples = async () => parseExposition(await (await fetch(agentMetrics)).text());

  beforeAll(async () => {
    const config = join(dir, 'responder.yaml');
    writeFileSync(
      config,
      `listen: { address: 127.0.0.1 }\nhttp: { port: 0 }\ntcp: { port: 0 }\nudp: { port: 0 }\nauth: { token_env: ABUSE_TOKENS }\nlimits: { max_bytes: 10MB, idle_timeout: 1s }\n`,
    );
    responder = startLinkmon(['responder', '--config', config], { env: { ABUSE_TOKENS: TOKEN } });
    ports = await waitFor('the responder ports in its log', () => {
      const line = responder.output().split('\n').find((l) => l.includes('linkmon responder listening'));
      if (responder.child.exitCode !== null) throw new Error(`responder exited:\n${responder.output()}`);
      return line ? (JSON.parse(line) as { ports: Ports }).ports : undefined;
    }, 30_000);
    const agentConfig = join(dir, 'agent.yaml');
    writeFileSync(
      agentConfig,
      `site: { id: legit, name: Legitimate site }
listen: { address: 127.0.0.1, port: 0 }
modules:
  latency: { kind: http, interval: 500ms, timeout: 500ms, expect_status: [200] }
  connect: { kind: tcp, interval: 500ms, timeout: 500ms }
  udp: { kind: udp, interval: 1s, packets: 50, timeout: 500ms }
targets:
  - { name: responder-http, module: latency, url: "http://127.0.0.1:${ports.http}/latency" }
  - { name: responder-tcp, module: connect, host: 127.0.0.1, port: ${ports.tcp} }
  - { name: responder-udp, module: udp, host: 127.0.0.1, port: ${ports.udp} }
`,
    );
    agent = startLinkmon(['agent', '--config', agentConfig]);
    agentMetrics = await metricsUrlFromLog(agent);
  });

  afterAll(async () => {
    await Promise.allSettled([agent?.stop(), responder?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`slowloris: 300 connections from one address (${ONE_SOURCE_SECONDS} s), then 300 more from ten others (${MANY_SOURCES_SECONDS} s): legitimate requests ≥ 99 % successful; slow headers dropped at the ${HEADER_DEADLINE_SECONDS} s deadline`, async () => {
    const agentBefore = await agentSamples();
    /** 20 legitimate requests a second, each on a fresh connection, for `seconds`. */
    const legitimateFor = async (seconds: number) => {
      const results: boolean[] = [];
      const until = performance.now() + seconds * 1000;
      while (performance.now() < until) results.push((await Promise.all([legitimateRequest(ports.http), new Promise((r) => setTimeout(r, 50))]))[0]);
      return results;
    };
    const oneSource = slowloris(ports.http, '127.0.0.2', 300);
    // Reference for the box's scheduling delay in this run: how late a timer of the deadline's length fires here.
    const timerSet = performance.now();
    const timerLate = new Promise<number>((resolve) => setTimeout(() => resolve((performance.now() - timerSet) / 1000 - HEADER_DEADLINE_SECONDS), HEADER_DEADLINE_SECONDS * 1000));
    let manySources: ReturnType<typeof slowloris>[] = [];
    let phases: boolean[][];
    try {
      const first = await legitimateFor(ONE_SOURCE_SECONDS);
      // Many sources fill every place: the connection idle longest makes room for each new one.
      manySources = Array.from({ length: 10 }, (_, i) => slowloris(ports.http, `127.0.0.${10 + i}`, 30));
      phases = [first, await legitimateFor(MANY_SOURCES_SECONDS)];
    } finally {
      for (const attack of [oneSource, ...manySources]) attack.stop();
    }
    const agentAfter = await agentSamples();
    for (const [i, results] of phases.entries()) {
      const ok = results.filter(Boolean).length;
      expect(ok / results.length, `phase ${i + 1}: ${ok} of ${results.length} legitimate requests succeeded`).toBeGreaterThanOrEqual(0.99);
    }
    for (const target of ['responder-http', 'responder-tcp', 'responder-udp']) {
      const delta = (name: string) => sumSamples(agentAfter, name, { target }) - sumSamples(agentBefore, name, { target });
      const attempts = delta('linkmon_probe_attempts_total');
      expect(attempts, target).toBeGreaterThan(0);
      // The ≥ 99 % figure is the client's above (5 s timeout); these probes give up after 0.5 s, and
      // one such timeout in ~30 is the busy box, not the attack.
      expect(delta('linkmon_probe_failures_total'), `${target}: agent probe failures during the attack (of ${attempts})`).toBeLessThanOrEqual(Math.max(1, attempts * 0.01));
    }
    // The one-source phase outlasts the deadline: its accepted connections were answered 408 then.
    const dropped = oneSource.answeredAfter;
    expect(dropped.length).toBeGreaterThan(0);
    // Not before the deadline; well before the 30 s that Node's default check interval allowed.
    expect(Math.min(...dropped)).toBeGreaterThanOrEqual(HEADER_DEADLINE_SECONDS - 0.05);
    // Node checks every 0.5 s. The rest is the box: measured from here, a connection's life also
    // holds the responder's delay in accepting it (it is busy refusing hundreds a second) and in
    // closing it: 2.5 s, or three times this run's timer lateness. Node's default check every 30 s
    // held them up to 31 s (bench/hostile-input.ts).
    const late = await timerLate;
    expect(Math.max(...dropped), `timer lateness in this run ${late.toFixed(3)} s`).toBeLessThan(HEADER_DEADLINE_SECONDS + 0.5 + Math.max(2.5, 3 * late));
    const samples = await responderSamples();
    expect(rejected(samples, 'connection', 'per_source_limit')).toBeGreaterThan(0);
    expect(rejected(samples, 'connection', 'timeout')).toBeGreaterThan(0);
    expect(rejected(samples, 'connection', 'evicted')).toBeGreaterThan(0);
  });

  it('malformed HTTP, token guessing, oversized and stalled bodies: refused and counted, logged once', async () => {
    expect(await raw(ports.http, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(ports.http, `GET /latency HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    const guesses: number[] = [];
    for (let i = 0; i < 100; i++) {
      guesses.push((await fetch(`http://127.0.0.1:${ports.http}/download?bytes=10`, { headers: { Authorization: `Bearer guess-${i}-0123456789abcdef` } })).status);
    }
    expect(new Set(guesses)).toEqual(new Set([401]));
    expect(await raw(ports.http, `POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 999999999\r\n\r\n`)).toMatch(/^HTTP\/1\.1 413 /);
    // 10 bytes of a 1 MB body, then nothing: 408 after the 1 s idle timeout.
    expect(await raw(ports.http, `POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000000\r\n\r\n0123456789`)).toMatch(/^HTTP\/1\.1 408 /);
    const samples = await responderSamples();
    expect(rejected(samples, 'connection', 'malformed')).toBeGreaterThanOrEqual(1);
    expect(rejected(samples, 'connection', 'headers_too_large')).toBeGreaterThanOrEqual(1);
    expect(rejected(samples, 'download', 'unauthorized')).toBe(100);
    expect(rejected(samples, 'upload', 'too_large')).toBe(1);
    expect(sumSamples(samples, 'linkmon_responder_tests_aborted_total', { endpoint: 'upload', reason: 'stalled' })).toBe(1);
    expect(await legitimateRequest(ports.http)).toBe(true);
    // Thousands of refusals so far: the first is logged, the rest wait for the once-a-minute summary.
    expect(responder.output().split('\n').filter((line) => line.includes('request refused')).length).toBeLessThanOrEqual(2);
  });

  it('UDP garbage and a flood from one address: dropped and counted; the agent’s UDP probe loses ≤ 1 %', async () => {
    const before = await agentSamples();
    const flood = createSocket('udp4');
    await new Promise<void>((resolve) => flood.bind(0, '127.0.0.3', () => resolve()));
    // Shorter than any probe packet (STAMP's base packet is 44 octets): garbage whatever the format.
    const garbage = Buffer.alloc(10, 0xab);
    // 2 s at about 2,500 packets a second (12 times the per-source limit), in small bursts. The
    // reflector drops them in user space; what it cannot read in time the kernel drops from its
    // socket buffer, legitimate packets included, so the flood is kept to what a stalled loop
    // (~0.1 s on a busy box) leaves room for.
    for (let burst = 0; burst < 200; burst++) {
      for (let i = 0; i < 25; i++) flood.send(garbage, ports.udp, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 1500));
    flood.close();
    const samples = await responderSamples();
    expect(rejected(samples, 'udp', 'malformed')).toBeGreaterThan(0);
    expect(rejected(samples, 'udp', 'rate_limited')).toBeGreaterThan(0);
    const after = await agentSamples();
    const delta = (name: string, labels: Record<string, string>) => sumSamples(after, name, labels) - sumSamples(before, name, labels);
    const attempts = delta('linkmon_probe_attempts_total', { target: 'responder-udp' });
    expect(attempts).toBeGreaterThan(100);
    expect(delta('linkmon_probe_failures_total', { target: 'responder-udp' }) / attempts, 'UDP probe loss during the flood').toBeLessThanOrEqual(0.01);
  });
});
