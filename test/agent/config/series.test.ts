// The series estimate behind limits.max_series and `linkmon validate` against a real agent's registry.
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../../agent/agent.js';
import { parseConfigText } from '../../../agent/config/load.js';
import { estimateSeries } from '../../../agent/config/series.js';
import { freeLoopbackPort, freeLoopbackUdpPort } from '../../support/ports.js';

describe('estimateSeries', () => {
  const agent = new Agent(pino({ level: 'silent' }));
  afterAll(() => agent.stop());

  it('is at least what an agent with every kind, SNMP and a link exports, and at most 5% more', async () => {
    const [tcp, udp, snmp] = [await freeLoopbackPort(), await freeLoopbackUdpPort(), await freeLoopbackUdpPort()];
    const config = parseConfigText(
      `site: { id: esb, name: ESB }
listen: { address: 127.0.0.1, port: 0 }
modules:
  tcp: { kind: tcp, interval: 1h, timeout: 1s, port: ${tcp} }
  web: { kind: http, interval: 1h, timeout: 1s }
  udp: { kind: udp, interval: 1h, timeout: 1s, packets: 1, port: ${udp} }
  bulk: { kind: throughput, schedule: "0 0 1 1 *", token_env: UNSET_IN_TESTS }
  dns: { kind: dns, interval: 1h, timeout: 1s, query_name: lab.test, port: ${udp} }
targets:
  - { name: t1, module: tcp, host: 127.0.0.1, labels: { link: hsl } }
  - { name: t2, module: tcp, host: 127.0.0.1 }
  - { name: h1, module: web, url: "http://127.0.0.1:${tcp}/" }
  - { name: u1, module: udp, host: 127.0.0.1 }
  - { name: b1, module: bulk, url: "http://127.0.0.1:${tcp}" }
  - { name: d1, module: dns, host: 127.0.0.1 }
snmp:
  devices:
    - { name: r1, address: 127.0.0.1, port: ${snmp}, version: v2c, community_env: UNSET_IN_TESTS, timeout: 100ms, retries: 0, interval: 1h,
        interfaces: [ { if_name: eth0 }, { if_name: eth1 } ] }
links:
  - { name: hsl, interfaces: [ { device: r1, interface: eth0 } ], capacity: 1Gbps }
`,
      'inline.yaml',
    );
    await agent.apply(config);
    const text = await agent.registry!.metrics();
    const exported = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
    const estimate = estimateSeries(config);
    expect(estimate, `estimate ${estimate}, exported ${exported}`).toBeGreaterThanOrEqual(exported);
    expect(estimate).toBeLessThanOrEqual(exported * 1.05);
  });
});
