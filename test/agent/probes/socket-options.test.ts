// Per-module source address and DSCP (issue #14) for every kind but ICMP (its own root test covers
// it), against the responder in-process on loopback: the options are accepted and the family
// reported; a source address this host does not have (192.0.2.1, TEST-NET-1: bind() fails, nothing
// is sent) is the failure reason `network` with EADDRNOTAVAIL in the detail, never a throw. What
// the packets carry on the wire is checked in test/agent/network-options-lab.root.test.ts.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsModuleSchema, httpModuleSchema, tcpModuleSchema, throughputModuleSchema, udpModuleSchema } from '../../../agent/config/schema.js';
import { createDnsProber } from '../../../agent/probes/dns/prober.js';
import { probeHttp } from '../../../agent/probes/http.js';
import { probeTcp } from '../../../agent/probes/tcp.js';
import type { IntervalModule, ProbeResult } from '../../../agent/probes/types.js';
import { createUdpProber } from '../../../agent/probes/udp/prober.js';
import { ThroughputMetrics } from '../../../agent/throughput/metrics.js';
import { runThroughputDirection } from '../../../agent/throughput/run-direction.js';
import type { RunningResponder } from '../../../responder/server.js';
import { startTestResponder, TOKEN } from '../../responder/support.js';

const FOREIGN = { source_ip_address: '192.0.2.1' };
const MARKED = { source_ip_address: '127.0.0.1', dscp: 'EF' };

const ctx = <M extends IntervalModule>(module: M, where: { host?: string; port?: number; url?: string }) => ({
  target: { name: 't', module: 'm', labels: {}, ...where },
  module,
  labels: { target: 't', kind: module.kind },
  signal: new AbortController().signal,
});

function expectForeignSourceFailure(result: ProbeResult) {
  expect(result).toMatchObject({ ok: false, reason: 'network', ipProtocol: 4 });
  expect(result.ok ? '' : result.detail).toMatch(/EADDRNOTAVAIL/);
}

describe('source address and DSCP per module (loopback)', () => {
  let responder: RunningResponder;
  let ports: { http: number; tcp: number; udp: number };

  beforeAll(async () => {
    responder = await startTestResponder();
    ports = { http: responder.ports.http!, tcp: responder.ports.tcp!, udp: responder.ports.udp! };
  });
  afterAll(async () => {
    await responder?.stop();
  });

  it('tcp: connects from the source with the DSCP set; a foreign source is a reason', async () => {
    const marked = await probeTcp(ctx(tcpModuleSchema.parse({ kind: 'tcp', ...MARKED }), { host: '127.0.0.1', port: ports.tcp }));
    expect(marked).toMatchObject({ ok: true, ipProtocol: 4 });
    expectForeignSourceFailure(await probeTcp(ctx(tcpModuleSchema.parse({ kind: 'tcp', ...FOREIGN }), { host: '127.0.0.1', port: ports.tcp })));
  });

  it('http: the same for the request connection', async () => {
    const url = `http://127.0.0.1:${ports.http}/healthz`;
    expect(await probeHttp(ctx(httpModuleSchema.parse({ kind: 'http', ...MARKED }), { url }))).toMatchObject({ ok: true, ipProtocol: 4 });
    expectForeignSourceFailure(await probeHttp(ctx(httpModuleSchema.parse({ kind: 'http', ...FOREIGN }), { url })));
  });

  it('udp (STAMP): the session socket takes the options; a foreign source fails each attempt until the config changes', async () => {
    const prober = createUdpProber();
    prober.createMetrics!(new Registry(), ['target', 'kind']).addTarget({ target: 't', kind: 'udp' });
    try {
      const marked = await prober.probe(ctx(udpModuleSchema.parse({ kind: 'udp', ...MARKED }), { host: '127.0.0.1', port: ports.udp }));
      expect(marked).toMatchObject({ ok: true, ipProtocol: 4 });
      const foreign = ctx(udpModuleSchema.parse({ kind: 'udp', ...FOREIGN }), { host: '127.0.0.1', port: ports.udp });
      expectForeignSourceFailure(await prober.probe(foreign));
      expectForeignSourceFailure(await prober.probe(foreign));
    } finally {
      await prober.stop!();
    }
  });

  it('dns: over UDP and over TCP, a foreign source is a reason', async () => {
    const prober = createDnsProber();
    for (const transport_protocol of ['udp', 'tcp']) {
      const module = dnsModuleSchema.parse({ kind: 'dns', query_name: 'caid-portal.example', transport_protocol, timeout: '1s', ...FOREIGN });
      expectForeignSourceFailure(await prober.probe(ctx(module, { host: '127.0.0.1', port: ports.udp })));
    }
  });

  it('throughput: the transfer connections take the options and report the family; a foreign source fails the test', async () => {
    const registry = new Registry();
    const metrics = ThroughputMetrics.on(registry, ['target', 'kind']);
    const labels = { target: 't', kind: 'throughput' };
    const target = { name: 't', module: 'm', url: `http://127.0.0.1:${ports.http}/`, labels: {} };
    const module = (fields: Record<string, unknown>) => throughputModuleSchema.parse({ kind: 'throughput', schedule: '0 * * * *', bytes: '100kB', warmup: '0s', timeout: '2s', ...fields });
    process.env.LINKMON_SOCKET_OPTIONS_TEST_TOKEN = TOKEN;
    try {
      const marked = await runThroughputDirection(target, module({ ...MARKED, token_env: 'LINKMON_SOCKET_OPTIONS_TEST_TOKEN' }), 'download', {
        signal: new AbortController().signal,
        onFamily: (family) => metrics.recordFamily(labels, family),
      });
      expect(marked.outcome).toBe('ok');
      expect((await registry.getSingleMetric('linkmon_probe_ip_protocol')!.get()).values).toEqual([{ labels, value: 4 }]);
      const foreign = await runThroughputDirection(target, module({ ...FOREIGN, token_env: 'LINKMON_SOCKET_OPTIONS_TEST_TOKEN' }), 'download', { signal: new AbortController().signal });
      expect(foreign).toMatchObject({ outcome: 'failed', reason: 'network' });
      expect('detail' in foreign ? foreign.detail : '').toMatch(/EADDRNOTAVAIL/);
    } finally {
      delete process.env.LINKMON_SOCKET_OPTIONS_TEST_TOKEN;
    }
  });
});
