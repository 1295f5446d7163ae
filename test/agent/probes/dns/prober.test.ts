// The DNS prober against a real resolver on loopback: Debian's dnsmasq (package dnsmasq-base),
// started by this file with the records below; plus servers written here that never answer or
// answer garbage, on real loopback sockets. No root needed.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsModuleSchema } from '../../../../agent/config/schema.js';
import { createDnsProber } from '../../../../agent/probes/dns/prober.js';
import { decodeMessage } from '../../../../agent/probes/dns/wire.js';
import type { KindMetrics, ModuleOf, ProbeResult } from '../../../../agent/probes/types.js';
import { startDnsmasq, type Dnsmasq } from '../../../support/dnsmasq.js';
import { freeLoopbackUdpPort, listenOnLoopback } from '../../../support/ports.js';

const BIG = 'x'.repeat(200);
const dnsModule = (fields: Record<string, unknown>): ModuleOf<'dns'> => dnsModuleSchema.parse({ kind: 'dns', timeout: '2s', ...fields });

describe('DNS prober against dnsmasq on loopback', () => {
  let dnsmasq: Dnsmasq;
  const prober = createDnsProber();
  const registry = new Registry();
  let metrics: KindMetrics;
  const labels = { target: 'resolver', kind: 'dns' };
  const probe = (module: ModuleOf<'dns'>, host = '127.0.0.1', port = dnsmasq.port, signal = new AbortController().signal): Promise<ProbeResult> =>
    prober.probe({ target: { name: 'resolver', module: 'dns', host, port, labels: {} }, module, labels, signal });
  const sample = async (name: string, extra: Record<string, string> = {}) => {
    const values = (await registry.getSingleMetric(name)!.get()).values;
    return values.find((v) => Object.entries({ ...labels, ...extra }).every(([k, value]) => v.labels[k] === value))?.value;
  };

  beforeAll(async () => {
    dnsmasq = await startDnsmasq({
      records: [
        '--host-record=www.lab.test,198.18.0.10,2001:db8::10',
        '--cname=alias.lab.test,www.lab.test',
        '--mx-host=lab.test,mail.lab.test,10',
        '--txt-record=txt.lab.test,"v=linkmon" probe',
        // Three 200-byte strings: over the 512 bytes of a UDP answer without EDNS, so dnsmasq sets TC.
        ...['a', 'b', 'c'].map((suffix) => `--txt-record=big.lab.test,${BIG}${suffix}`),
      ],
    });
    metrics = prober.createMetrics!(registry, ['target', 'kind']);
    metrics.addTarget(labels);
  });
  afterAll(() => dnsmasq?.stop());

  it('answers A and AAAA queries, validated against the records in presentation form', async () => {
    const a = dnsModule({ query_name: 'www.lab.test', validate_answer_rrs: { fail_if_not_matches_regexp: ['^www\\.lab\\.test\\.\\t300\\tIN\\tA\\t198\\.18\\.0\\.10$'] } });
    const result = await probe(a);
    expect(result).toMatchObject({ ok: true });
    if (result.ok) expect(result.durationSeconds).toBeGreaterThan(0);
    expect(await sample('linkmon_dns_response_rcode')).toBe(0);
    expect(await sample('linkmon_dns_records', { section: 'answer' })).toBe(1);
    expect(await probe(dnsModule({ query_name: 'www.lab.test.', query_type: 'AAAA', validate_answer_rrs: { fail_if_none_matches_regexp: ['AAAA\\t2001:db8::10$'] } }))).toMatchObject({ ok: true });
  });

  it('fails with answer_mismatch when the records do not validate', async () => {
    const wrongAddress = await probe(dnsModule({ query_name: 'www.lab.test', validate_answer_rrs: { fail_if_not_matches_regexp: ['198\\.18\\.0\\.99'] } }));
    expect(wrongAddress).toMatchObject({ ok: false, reason: 'answer_mismatch' });
    if (!wrongAddress.ok) expect(wrongAddress.detail).toContain('answer: record "www.lab.test.\t300\tIN\tA\t198.18.0.10" does not match /198\\.18\\.0\\.99/');
    expect(await probe(dnsModule({ query_name: 'www.lab.test', validate_answer_rrs: { fail_if_matches_regexp: ['198\\.18\\.0\\.10'] } }))).toMatchObject({ reason: 'answer_mismatch' });
    // No authority records, and one is required.
    expect(await probe(dnsModule({ query_name: 'www.lab.test', validate_authority_rrs: { fail_if_none_matches_regexp: ['SOA'] } }))).toMatchObject({ reason: 'answer_mismatch' });
  });

  it('follows a CNAME in the answer and prints MX and TXT as zone files do', async () => {
    expect(await probe(dnsModule({ query_name: 'alias.lab.test', validate_answer_rrs: { fail_if_all_match_regexp: ['^(alias|www)\\.lab\\.test\\.'], fail_if_none_matches_regexp: ['CNAME\\twww\\.lab\\.test\\.$'] } }))).toMatchObject({ ok: true });
    expect(await probe(dnsModule({ query_name: 'lab.test', query_type: 'MX', validate_answer_rrs: { fail_if_not_matches_regexp: ['\\tMX\\t10 mail\\.lab\\.test\\.$'] } }))).toMatchObject({ ok: true });
    expect(await probe(dnsModule({ query_name: 'txt.lab.test', query_type: 'TXT', validate_answer_rrs: { fail_if_not_matches_regexp: ['\\tTXT\\t"\\\\"v=linkmon\\\\" probe"$'] } }))).toMatchObject({ ok: true });
  });

  it('fails with dns_rcode on a response code outside valid_rcodes, and passes one inside', async () => {
    const nxdomain = await probe(dnsModule({ query_name: 'missing.lab.test' }));
    expect(nxdomain).toMatchObject({ ok: false, reason: 'dns_rcode' });
    if (!nxdomain.ok) expect(nxdomain.detail).toContain('response code NXDOMAIN, expected NOERROR');
    expect(await sample('linkmon_dns_response_rcode')).toBe(3);
    expect(await probe(dnsModule({ query_name: 'missing.lab.test', valid_rcodes: ['NXDOMAIN'] }))).toMatchObject({ ok: true });
    expect(await probe(dnsModule({ query_name: 'example.com' }))).toMatchObject({ ok: false, reason: 'dns_rcode', detail: expect.stringContaining('REFUSED') });
  });

  it('repeats a truncated UDP answer over TCP, and asks over TCP when told to', async () => {
    const fallbacksBefore = (await sample('linkmon_dns_tcp_fallbacks_total')) ?? 0;
    const txt = { query_name: 'big.lab.test', query_type: 'TXT', validate_answer_rrs: { fail_if_all_match_regexp: [`"${BIG}[abc]"$`] } };
    expect(await probe(dnsModule(txt))).toMatchObject({ ok: true });
    expect(await sample('linkmon_dns_records', { section: 'answer' })).toBe(3);
    expect(await sample('linkmon_dns_tcp_fallbacks_total')).toBe(fallbacksBefore + 1);
    expect(await probe(dnsModule({ ...txt, transport_protocol: 'tcp' }))).toMatchObject({ ok: true });
    expect(await sample('linkmon_dns_tcp_fallbacks_total')).toBe(fallbacksBefore + 1);
  });

  it('gives refused when nothing listens on the UDP port, dns when the server name does not resolve', async () => {
    expect(await probe(dnsModule({ query_name: 'www.lab.test' }), '127.0.0.1', await freeLoopbackUdpPort())).toMatchObject({ ok: false, reason: 'refused' });
    expect(await sample('linkmon_dns_response_rcode')).toBe(-1);
    expect(await probe(dnsModule({ query_name: 'www.lab.test' }), 'no-such-resolver.invalid')).toMatchObject({ ok: false, reason: 'dns' });
  });

  it('removes its series with the target', async () => {
    metrics.removeTarget(labels);
    expect(await sample('linkmon_dns_response_rcode')).toBeUndefined();
    metrics.addTarget(labels);
    expect(await sample('linkmon_dns_response_rcode')).toBe(-1);
  });
});

/** A UDP server on loopback that hands each query to `answer` (which may send nothing). */
async function udpServer(answer: (query: Buffer, reply: (bytes: Buffer) => void) => void): Promise<{ port: number; socket: UdpSocket }> {
  const socket = createSocket('udp4');
  socket.on('message', (query, from) => answer(query, (bytes) => socket.send(bytes, from.port, from.address)));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, socket };
}

/** The query turned into a response header with this rcode and nothing else (question kept). */
function responseTo(query: Buffer, change: (response: Buffer) => void = () => {}): Buffer {
  const response = Buffer.from(query);
  response.writeUInt16BE(0x8180, 2);
  change(response);
  return response;
}

describe('DNS prober against servers that never answer or answer garbage', () => {
  const prober = createDnsProber();
  const closers: (() => void)[] = [];
  const probe = (port: number, fields: Record<string, unknown> = {}) =>
    prober.probe({
      target: { name: 'bad', module: 'dns', host: '127.0.0.1', port, labels: {} },
      module: dnsModule({ query_name: 'www.lab.test', timeout: '300ms', ...fields }),
      labels: {},
      signal: new AbortController().signal,
    });
  const tcpServer = async (onConnection: (socket: Socket) => void): Promise<{ port: number; server: Server; open: Set<Socket> }> => {
    const open = new Set<Socket>();
    const server = createServer((socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
      onConnection(socket);
    });
    const port = await listenOnLoopback(server);
    closers.push(() => server.close());
    return { port, server, open };
  };
  afterAll(() => closers.forEach((close) => close()));

  it('times out on a server that reads queries and never answers, over UDP and TCP, and closes its socket', async () => {
    const silent = await udpServer(() => {});
    closers.push(() => silent.socket.close());
    const started = performance.now();
    const result = await probe(silent.port);
    expect(result).toMatchObject({ ok: false, reason: 'timeout', detail: 'no answer from 127.0.0.1:' + silent.port + ' for www.lab.test A within 0.3s' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(299);

    const hung = await tcpServer((socket) => socket.resume());
    expect(await probe(hung.port, { transport_protocol: 'tcp' })).toMatchObject({ ok: false, reason: 'timeout' });
    // The prober destroyed its connection at the deadline: the server sees it close.
    for (let i = 0; i < 50 && hung.open.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(hung.open.size).toBe(0);
  });

  it('gives invalid_reply for garbage, a reply to another query, a query echoed back or a foreign question', async () => {
    const cases: [string, (query: Buffer) => Buffer][] = [
      ['not a DNS message', () => Buffer.from('hello, this is not DNS')],
      ['another query ID', (q) => responseTo(q, (r) => r.writeUInt16BE((q.readUInt16BE(0) + 1) & 0xffff, 0))],
      ['no QR bit', (q) => Buffer.from(q)],
      ['a count past the end', (q) => responseTo(q, (r) => r.writeUInt16BE(5, 6))],
      ['another question', (q) => responseTo(q, (r) => (r[13] = 'v'.charCodeAt(0)))],
    ];
    for (const [what, answer] of cases) {
      const server = await udpServer((query, reply) => reply(answer(query)));
      closers.push(() => server.socket.close());
      const result = await probe(server.port);
      expect({ what, reason: result.ok ? 'ok' : result.reason }).toEqual({ what, reason: 'invalid_reply' });
    }
  });

  it('over TCP: invalid_reply for garbage after the length, reset when the server closes mid-response', async () => {
    const garbage = await tcpServer((socket) => socket.once('data', () => socket.end(Buffer.from([0, 4, 1, 2, 3, 4]))));
    expect(await probe(garbage.port, { transport_protocol: 'tcp' })).toMatchObject({ ok: false, reason: 'invalid_reply' });
    const closing = await tcpServer((socket) => socket.once('data', () => socket.end(Buffer.from([0, 40, 1, 2]))));
    expect(await probe(closing.port, { transport_protocol: 'tcp' })).toMatchObject({ ok: false, reason: 'reset' });
  });

  it('accepts an error response that leaves the question out, and judges its rcode', async () => {
    const server = await udpServer((query, reply) => {
      const header = responseTo(query.subarray(0, 12), (r) => {
        r.writeUInt16BE(0x8185, 2); // REFUSED
        r.writeUInt16BE(0, 4);
      });
      reply(header);
    });
    closers.push(() => server.socket.close());
    expect(decodeMessage(Buffer.alloc(12)).questions).toEqual([]);
    expect(await probe(server.port)).toMatchObject({ ok: false, reason: 'dns_rcode', detail: expect.stringContaining('REFUSED') });
    expect(await probe(server.port, { valid_rcodes: ['REFUSED'] })).toMatchObject({ ok: true });
  });

  it('ends at once when the agent stops', async () => {
    const silent = await udpServer(() => {});
    closers.push(() => silent.socket.close());
    const controller = new AbortController();
    const pending = prober.probe({ target: { name: 'bad', module: 'dns', host: '127.0.0.1', port: silent.port, labels: {} }, module: dnsModule({ query_name: 'www.lab.test', timeout: '10s' }), labels: {}, signal: controller.signal });
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, reason: 'error', detail: expect.stringContaining('aborted') });
  });
});
