// UDP (STAMP) probe against the responder's reflector in-process on loopback, directly and through
// a test-only relay that drops or duplicates every Nth packet in one direction; and against
// test-only reflectors that are stateless or answer garbage.
import { createSocket, type Socket } from 'node:dgram';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleOf, ProbeResult } from '../../../../agent/probes/types.js';
import { createUdpProber } from '../../../../agent/probes/udp/prober.js';
import type { RunningResponder } from '../../../../responder/server.js';
import { decodeSenderPacket, reflectInPlace, stampTransmit } from '../../../../lib/stamp/packet.js';
import { LINKMON_ERROR_ESTIMATE } from '../../../../lib/stamp/timestamp.js';
import { metricValue, startTestResponder } from '../../../responder/support.js';

type Direction = 'site_to_dc' | 'dc_to_site';
const LABELS = { target: 'dc', kind: 'udp' };
const PACKETS = 200;
const SPACING_MS = 3;
const udpModule = (port: number): ModuleOf<'udp'> => ({ kind: 'udp', interval: 1, timeout: 0.4, packets: 100, packet_bytes: 44, port });

/** Runs PACKETS probes SPACING_MS apart through a fresh prober; returns its registry and results. */
async function probeRun(port: number) {
  const prober = createUdpProber();
  const registry = new Registry();
  prober.createMetrics!(registry, ['target', 'kind']).addTarget(LABELS);
  const ctx = { target: { name: 'dc', module: 'udp', host: '127.0.0.1', port, labels: {} }, module: udpModule(port), labels: LABELS, signal: new AbortController().signal };
  const pending: Promise<ProbeResult>[] = [];
  try {
    for (let i = 0; i < PACKETS; i++) {
      pending.push(prober.probe(ctx));
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    const results = await Promise.all(pending);
    return { registry, results };
  } finally {
    await prober.stop!();
  }
}

const value = (registry: Registry, name: string, direction: Direction) => metricValue(registry, name, { ...LABELS, direction });

/** A UDP relay between agent and reflector that drops or duplicates every `every`-th packet of one direction. */
async function startRelay(reflectorPort: number, direction: Direction, action: 'drop' | 'duplicate', every: number): Promise<{ port: number; close(): void }> {
  const front: Socket = createSocket('udp4');
  const back: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => back.connect(reflectorPort, '127.0.0.1', () => resolve()));
  let client: { port: number; address: string } | undefined;
  const counts = { site_to_dc: 0, dc_to_site: 0 };
  // Offset 3 keeps the last packet of a run clear of the pattern, so the run settles fully.
  const hit = (d: Direction) => d === direction && ++counts[d] % every === 3;
  front.on('message', (packet, from) => {
    client = from;
    const selected = hit('site_to_dc');
    if (selected && action === 'drop') return;
    back.send(packet);
    if (selected) back.send(packet);
  });
  back.on('message', (packet) => {
    if (!client) return;
    const selected = hit('dc_to_site');
    if (selected && action === 'drop') return;
    front.send(packet, client.port, client.address);
    if (selected) front.send(packet, client.port, client.address);
  });
  return { port: front.address().port, close: () => (front.close(), back.close()) };
}

describe('UDP probe against the reflector (loopback)', () => {
  let responder: RunningResponder;
  let reflectorPort: number;

  beforeAll(async () => {
    responder = await startTestResponder({ http: { enabled: false }, tcp: { enabled: false } });
    reflectorPort = responder.ports.udp!;
  });
  afterAll(() => responder?.stop());

  it('without loss: every probe succeeds with an RTT, nothing is lost, the responder is a stateful reflector', async () => {
    const { registry, results } = await probeRun(reflectorPort);
    expect(await metricValue(registry, 'linkmon_udp_reflector_stateful', LABELS)).toBe(1);
    expect(await metricValue(registry, 'linkmon_udp_packets_lost_unattributed_total', LABELS)).toBe(0);
    expect(results.every((r) => r.ok)).toBe(true);
    for (const r of results) if (r.ok) expect(r.durationSeconds).toBeGreaterThan(0);
    expect(await value(registry, 'linkmon_udp_packets_sent_total', 'site_to_dc')).toBe(PACKETS);
    expect(await value(registry, 'linkmon_udp_packets_sent_total', 'dc_to_site')).toBe(PACKETS);
    expect(await value(registry, 'linkmon_udp_packets_lost_total', 'site_to_dc')).toBe(0);
    expect(await value(registry, 'linkmon_udp_packets_lost_total', 'dc_to_site')).toBe(0);
    expect(await value(registry, 'linkmon_udp_duplicates_total', 'site_to_dc')).toBe(0);
    expect(await value(registry, 'linkmon_udp_jitter_seconds', 'dc_to_site')).toBeGreaterThan(0);
  });

  for (const direction of ['site_to_dc', 'dc_to_site'] as const) {
    const other: Direction = direction === 'site_to_dc' ? 'dc_to_site' : 'site_to_dc';

    it(`dropping every 10th packet ${direction}: the loss is attributed to ${direction} only`, async () => {
      const relay = await startRelay(reflectorPort, direction, 'drop', 10);
      try {
        const { registry, results } = await probeRun(relay.port);
        const dropped = PACKETS / 10;
        expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(Array(dropped).fill('timeout'));
        expect(await value(registry, 'linkmon_udp_packets_lost_total', direction)).toBe(dropped);
        expect(await value(registry, 'linkmon_udp_packets_lost_total', other)).toBe(0);
        expect(await value(registry, 'linkmon_udp_packets_sent_total', 'site_to_dc')).toBe(PACKETS);
        // What the reflector sent = what reached it.
        expect(await value(registry, 'linkmon_udp_packets_sent_total', 'dc_to_site')).toBe(direction === 'site_to_dc' ? PACKETS - dropped : PACKETS);
      } finally {
        relay.close();
      }
    });

    it(`duplicating every 10th packet ${direction}: counted as ${direction} duplicates, not as loss`, async () => {
      const relay = await startRelay(reflectorPort, direction, 'duplicate', 10);
      try {
        const { registry, results } = await probeRun(relay.port);
        expect(results.every((r) => r.ok)).toBe(true);
        expect(await value(registry, 'linkmon_udp_duplicates_total', direction)).toBe(PACKETS / 10);
        expect(await value(registry, 'linkmon_udp_duplicates_total', other)).toBe(0);
        expect(await value(registry, 'linkmon_udp_packets_lost_total', 'site_to_dc')).toBe(0);
        expect(await value(registry, 'linkmon_udp_packets_lost_total', 'dc_to_site')).toBe(0);
      } finally {
        relay.close();
      }
    });
  }

  it('no reflector listening: probes fail with a reason from the closed list, the prober keeps going', async () => {
    const closed = createSocket('udp4');
    await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', () => resolve()));
    const port = closed.address().port;
    closed.close();
    const prober = createUdpProber();
    const ctx = { target: { name: 'gone', module: 'udp', host: '127.0.0.1', port, labels: {} }, module: { ...udpModule(port), timeout: 0.2 }, labels: { target: 'gone', kind: 'udp' }, signal: new AbortController().signal };
    try {
      const first = await prober.probe(ctx);
      await new Promise((r) => setTimeout(r, 20));
      const second = await prober.probe(ctx);
      for (const result of [first, second]) {
        expect(result.ok).toBe(false);
        if (!result.ok) expect(['refused', 'timeout']).toContain(result.reason);
      }
    } finally {
      await prober.stop!();
    }
  });
});

/** A test-only reflector on loopback answering each datagram with what `answer` returns (nothing for undefined). */
async function startFakeReflector(answer: (packet: Buffer, receivedWallNs: bigint) => Buffer | undefined | Promise<Buffer | undefined>): Promise<{ port: number; close(): void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  socket.on('message', async (packet, from) => {
    const reply = await answer(packet, BigInt(Date.now()) * 1_000_000n);
    if (reply) socket.send(reply, from.port, from.address);
  });
  return { port: socket.address().port, close: () => socket.close() };
}

/** A stateless reflection (RFC 8762 §4.3: the sender's number copied) with the given T2 and T3. */
function statelessReflection(packet: Buffer, t2: bigint, t3: bigint): Buffer {
  const request = decodeSenderPacket(packet)!;
  reflectInPlace(packet, { seq: request.seq, receiveTimestampNs: t2, errorEstimate: LINKMON_ERROR_ESTIMATE, senderTtl: 255 });
  stampTransmit(packet, t3);
  return packet;
}

describe('UDP probe against other reflectors (loopback, test-only reflectors)', () => {
  it('a stateless reflector: identified, the loss counted but not split by direction', async () => {
    let received = 0;
    const reflector = await startFakeReflector((packet, now) => (++received % 10 === 3 ? undefined : statelessReflection(packet, now, now)));
    try {
      const { registry, results } = await probeRun(reflector.port);
      expect(results.filter((r) => !r.ok)).toHaveLength(PACKETS / 10);
      expect(await metricValue(registry, 'linkmon_udp_reflector_stateful', LABELS)).toBe(0);
      expect(await metricValue(registry, 'linkmon_udp_packets_lost_unattributed_total', LABELS)).toBe(PACKETS / 10);
      expect(await value(registry, 'linkmon_udp_packets_lost_total', 'site_to_dc')).toBe(0);
      expect(await value(registry, 'linkmon_udp_packets_lost_total', 'dc_to_site')).toBe(0);
      expect(await value(registry, 'linkmon_udp_packets_sent_total', 'site_to_dc')).toBe(PACKETS);
    } finally {
      reflector.close();
    }
  });

  it("takes the reflector's processing time (T3 - T2) out of the round trip", async () => {
    const HOLD_MS = 100;
    // Holds each packet about HOLD_MS and says exactly how long: T3 = T2 + the time it held it (a
    // Node timer may fire a fraction of a millisecond early, so the declared hold is measured).
    let heldNs = 0n;
    const reflector = await startFakeReflector(async (packet, now) => {
      const heldFrom = process.hrtime.bigint();
      await new Promise((r) => setTimeout(r, HOLD_MS));
      heldNs = process.hrtime.bigint() - heldFrom;
      return statelessReflection(packet, now, now + heldNs);
    });
    const prober = createUdpProber();
    const port = reflector.port;
    const ctx = { target: { name: 'slow', module: 'udp', host: '127.0.0.1', port, labels: {} }, module: { ...udpModule(port), timeout: 2 }, labels: LABELS, signal: new AbortController().signal };
    try {
      const started = performance.now();
      const result = await prober.probe(ctx);
      const elapsedMs = performance.now() - started;
      expect(result.ok).toBe(true);
      // What the test saw, less the time the reflector held the packet, bounds the probe's RTT.
      expect(Number(heldNs) / 1e6).toBeGreaterThan(HOLD_MS / 2);
      if (result.ok) expect(result.durationSeconds * 1000).toBeLessThanOrEqual(elapsedMs - Number(heldNs) / 1e6);
    } finally {
      await prober.stop!();
      reflector.close();
    }
  });

  it('a reflector that answers garbage: every probe fails with reason invalid_reply, and nothing is counted as answered', async () => {
    for (const garbage of [(packet: Buffer) => packet /* a UDP echo: our own packet back */, () => Buffer.from('not a stamp reflection')]) {
      const reflector = await startFakeReflector((packet) => garbage(packet));
      const prober = createUdpProber();
      const ctx = { target: { name: 'junk', module: 'udp', host: '127.0.0.1', port: reflector.port, labels: {} }, module: { ...udpModule(reflector.port), timeout: 0.2 }, labels: LABELS, signal: new AbortController().signal };
      try {
        const results = await Promise.all([prober.probe(ctx), prober.probe(ctx)]);
        expect(results.map((r) => !r.ok && r.reason)).toEqual(['invalid_reply', 'invalid_reply']);
        expect(results[0]!.ok === false && results[0]!.detail).toMatch(/answered with \d+ invalid datagram/);
      } finally {
        await prober.stop!();
        reflector.close();
      }
    }
  });
});
