// The agent's name resolution against real DNS servers on loopback: Debian's dnsmasq (package
// dnsmasq-base, test/support/dnsmasq.ts) and a "resolver" that swallows every query (the
// unreachable-resolver case). Nothing leaves the host.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptDeadline } from '../../../agent/probes/deadline.js';
import { NameResolver, parseHostsFile } from '../../../agent/probes/resolver.js';
import { probeTcp } from '../../../agent/probes/tcp.js';
import { startDnsmasq, type Dnsmasq } from '../../support/dnsmasq.js';

const never = new AbortController().signal;
const resolveWithin = (resolver: NameResolver, host: string, timeoutSeconds = 2, family: 0 | 4 | 6 = 0) => {
  const deadline = new AttemptDeadline(timeoutSeconds, never);
  return resolver.resolve(host, family, deadline).finally(() => deadline.clear());
};

/** The query name of a DNS request (RFC 1035 4.1.2: labels from byte 12). */
function queryName(packet: Buffer): string {
  const labels: string[] = [];
  for (let at = 12; at < packet.length && packet[at]! > 0; at += packet[at]! + 1) labels.push(packet.subarray(at + 1, at + 1 + packet[at]!).toString());
  return labels.join('.');
}

let dir: string;
let emptyHosts: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'linkmon-resolver-'));
  emptyHosts = join(dir, 'hosts-empty');
  writeFileSync(emptyHosts, '# nothing\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('name resolution with the resolver unreachable', () => {
  let blackhole: Socket;
  const received: string[] = [];
  beforeAll(async () => {
    blackhole = createSocket('udp4');
    blackhole.on('message', (packet) => received.push(queryName(packet)));
    await new Promise<void>((resolve) => blackhole.bind(0, '127.0.0.1', () => resolve()));
  });
  afterAll(() => blackhole.close());
  const resolver = () => new NameResolver({ servers: [`127.0.0.1:${blackhole.address().port}`], hostsFile: emptyHosts, maxConcurrentQueries: 4 });

  it('fails the attempt with reason dns at its deadline', async () => {
    const result = await probeTcp(
      { target: { name: 'portal', module: 'tcp', host: 'portal.caid.test', port: 443, labels: {} }, module: { kind: 'tcp', interval: 1, timeout: 0.3 }, labels: {}, signal: never },
      resolver(),
    );
    expect(result).toMatchObject({ ok: false, reason: 'dns', detail: 'resolve portal.caid.test: no answer from the resolver within 0.3s' });
  });

  it('asks once per name however many attempts wait, and at most maxConcurrentQueries names at once', async () => {
    received.length = 0;
    const shared = resolver();
    const names = Array.from({ length: 10 }, (_, i) => `site${i}.caid.test`);
    const results = await Promise.all(names.flatMap((name) => [resolveWithin(shared, name, 0.3), resolveWithin(shared, name, 0.3)]));
    expect(results.every((r) => 'reason' in r && r.reason === 'dns')).toBe(true);
    // c-ares' second try comes after 1 s, past these deadlines: one packet per query started.
    expect(new Set(received).size).toBe(received.length);
    expect(received.length).toBe(4);
  });
});

describe('name resolution through DNS (dnsmasq)', () => {
  let dns: Dnsmasq;
  let noCache: Dnsmasq;
  beforeAll(async () => {
    [dns, noCache] = await Promise.all([startDnsmasq({ records: ['--host-record=portal.caid.test,198.18.7.7'], ttlSeconds: 1 }), startDnsmasq({ records: ['--host-record=portal.caid.test,198.18.7.8'], ttlSeconds: 0 })]);
  });
  afterAll(async () => {
    await Promise.all([dns?.stop(), noCache?.stop()]);
  });

  it('answers, shares one query among concurrent lookups, and caches the answer for its TTL', async () => {
    const resolver = new NameResolver({ servers: [dns.server], hostsFile: emptyHosts });
    const answers = await Promise.all(Array.from({ length: 5 }, () => resolveWithin(resolver, 'portal.caid.test')));
    expect(answers).toEqual(Array.from({ length: 5 }, () => ({ address: '198.18.7.7', family: 4 })));
    expect(await resolveWithin(resolver, 'portal.caid.test')).toEqual({ address: '198.18.7.7', family: 4 });
    expect(dns.queries('portal.caid.test')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the 1 s TTL
    await resolveWithin(resolver, 'portal.caid.test');
    expect(dns.queries('portal.caid.test')).toBe(2);
  });

  it('does not cache an answer with TTL 0', async () => {
    const resolver = new NameResolver({ servers: [noCache.server], hostsFile: emptyHosts });
    for (let i = 0; i < 3; i++) expect(await resolveWithin(resolver, 'portal.caid.test', 2, 4)).toEqual({ address: '198.18.7.8', family: 4 });
    expect(noCache.queries('portal.caid.test')).toBe(3);
  });

  it('reports a name the server refuses or does not know as reason dns', async () => {
    const resolver = new NameResolver({ servers: [dns.server], hostsFile: emptyHosts });
    expect(await resolveWithin(resolver, 'unknown.caid.test')).toMatchObject({ reason: 'dns', detail: expect.stringContaining('resolve unknown.caid.test') });
  });

  it('reads the hosts file first (c-ares does not), and keeps localhost on loopback when the file lacks it', async () => {
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '# local names\n198.18.9.9   Portal.CAID.test portal   # pinned\n::1 v6only.test\n');
    const resolver = new NameResolver({ servers: [dns.server], hostsFile: hosts });
    const before = dns.queries();
    expect(await resolveWithin(resolver, 'portal.caid.test')).toEqual({ address: '198.18.9.9', family: 4 });
    expect(await resolveWithin(resolver, 'PORTAL')).toEqual({ address: '198.18.9.9', family: 4 });
    expect(await resolveWithin(resolver, 'localhost', 2, 4)).toEqual({ address: '127.0.0.1', family: 4 });
    expect(await resolveWithin(resolver, 'localhost', 2, 6)).toEqual({ address: '::1', family: 6 });
    expect(await resolveWithin(resolver, '198.18.1.1')).toEqual({ address: '198.18.1.1', family: 4 });
    expect(dns.queries()).toBe(before);
  });
});

describe('hosts file parsing', () => {
  it('keeps file order, lower-cases names, skips comments and malformed lines', () => {
    const parsed = parseHostsFile('127.0.0.1 localhost\n::1 localhost ip6-localhost\nnot-an-address name\n# 10.0.0.1 hidden\nfe80::1%eth0 link\n');
    expect(parsed.get('localhost')).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(parsed.has('name')).toBe(false);
    expect(parsed.has('hidden')).toBe(false);
    expect(parsed.get('link')).toEqual([{ address: 'fe80::1%eth0', family: 6 }]);
  });
});
