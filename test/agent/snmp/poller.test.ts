import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBitRate } from '../../../lib/units.js';
import { parseConfigText } from '../../../agent/config/load.js';
import type { SnmpDeviceConfig, SnmpInterfaceConfig } from '../../../agent/config/schema.js';
import { linkTermsComponent } from '../../../agent/capacity/terms.js';
import { snmpComponent } from '../../../agent/snmp/component.js';
import { counterStep, deviceRebooted, type CounterReading } from '../../../agent/snmp/counters.js';
import { readCredentials } from '../../../agent/snmp/credentials.js';
import { classifySnmpError, SnmpPollError } from '../../../agent/snmp/errors.js';
import { columnsToWalk, resolveSelectors } from '../../../agent/snmp/resolve.js';
import { bufferToBigInt } from '../../../agent/snmp/session.js';
import { parseExposition, sumSamples } from '../../support/exposition.js';

const dir = mkdtempSync(join(tmpdir(), 'linkmon-snmp-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function reading(ifIndex: number, octetsIn: bigint, extra: Partial<CounterReading> = {}): CounterReading {
  return {
    ifIndex,
    discontinuityTime: 0,
    counters: { ifHCInOctets: octetsIn, ifHCOutOctets: 10n, ifInErrors: 0n, ifOutErrors: 0n, ifInDiscards: 0n, ifOutDiscards: 0n },
    ...extra,
  };
}

describe('counter steps', () => {
  it('takes the first reading as the baseline and counts the difference after', () => {
    expect(counterStep(undefined, reading(3, 100n), false)).toEqual({ kind: 'baseline' });
    const step = counterStep(reading(3, 100n), reading(3, 1100n), false);
    expect(step.kind === 'increment' && step.deltas.ifHCInOctets).toBe(1000n);
  });

  it('re-baselines instead of counting across a reboot, a renumbering, a discontinuity time or a decrease', () => {
    expect(counterStep(reading(3, 100n), reading(3, 5000n), true)).toEqual({ kind: 'discontinuity', cause: 'reboot' });
    expect(counterStep(reading(3, 100n), reading(4, 5000n), false)).toEqual({ kind: 'discontinuity', cause: 'renumbered' });
    expect(counterStep(reading(3, 100n), reading(3, 5000n, { discontinuityTime: 1234 }), false)).toEqual({ kind: 'discontinuity', cause: 'discontinuity_time' });
    expect(counterStep(reading(3, 100n), reading(3, 99n), false)).toEqual({ kind: 'discontinuity', cause: 'counter_decreased' });
  });

  it('counts 64-bit octets beyond 2^53 exactly', () => {
    const step = counterStep(reading(1, 2n ** 60n), reading(1, 2n ** 60n + 125_000_000n), false);
    expect(step.kind === 'increment' && step.deltas.ifHCInOctets).toBe(125_000_000n);
  });

  it('sees a reboot when sysUpTime goes back, not on the first reading', () => {
    expect(deviceRebooted(undefined, 5)).toBe(false);
    expect(deviceRebooted(500, 600)).toBe(false);
    expect(deviceRebooted(500, 20)).toBe(true);
  });

  it('decodes Counter64 bytes of any length, leading zero included', () => {
    expect(bufferToBigInt(Buffer.from([0x02, 0x4a]))).toBe(586n);
    expect(bufferToBigInt(Buffer.from([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(2n ** 64n - 1n);
    expect(bufferToBigInt(Buffer.alloc(0))).toBe(0n);
  });
});

describe('interface selectors', () => {
  const entries: SnmpInterfaceConfig[] = [
    { name: 'hsl', selector: { by: 'if_alias', value: 'HSL to CAID' } },
    { name: 'wan', selector: { by: 'if_name', value: 'Gi0/0/1' } },
    { name: 'third', selector: { by: 'if_index', value: 7 } },
    { name: 'gone', selector: { by: 'if_name', value: 'Gi0/0/9' } },
  ];

  it('walks only the name columns the selectors need', () => {
    expect(columnsToWalk(entries).map((c) => c.column).sort()).toEqual(['ifAlias', 'ifName']);
    expect(columnsToWalk([entries[2]!])).toEqual([]);
  });

  it('resolves by ifName, ifAlias and ifIndex; the lowest of several matches; nothing for no match', () => {
    const resolved = resolveSelectors(entries, {
      ifName: new Map([
        [1, 'Gi0/0/0'],
        [2, 'Gi0/0/1'],
      ]),
      ifAlias: new Map([
        [5, 'HSL to CAID'],
        [4, 'HSL to CAID'],
      ]),
    });
    expect(resolved.get('hsl')).toEqual({ ifIndex: 4, ambiguous: [4, 5] });
    expect(resolved.get('wan')).toEqual({ ifIndex: 2 });
    expect(resolved.get('third')).toEqual({ ifIndex: 7 });
    expect(resolved.get('gone')).toEqual({ ifIndex: undefined });
  });
});

describe('SNMP failure reasons', () => {
  const request = { timeoutSeconds: 2, retries: 1 };
  it.each([
    [{ name: 'RequestTimedOutError', message: 'Request timed out' }, 'timeout'],
    [{ name: 'ResponseInvalidError', code: 5, message: 'Unknown User Name' }, 'auth'],
    [{ name: 'ResponseInvalidError', code: 4, message: 'x' }, 'auth'],
    [{ name: 'RequestFailedError', status: 16, message: 'AuthorizationError' }, 'auth'],
    [{ name: 'RequestFailedError', status: 5, message: 'GeneralError' }, 'error'],
    [Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'refused'],
    [Object.assign(new Error('x'), { code: 'EHOSTUNREACH' }), 'unreachable'],
    [Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'dns'],
    [Object.assign(new Error('x'), { code: 'EPERM' }), 'network'],
    [new Error('Socket forcibly closed'), 'error'],
  ])('%o is %s', (err, reason) => {
    expect(classifySnmpError(err, request).reason).toBe(reason);
  });

  it('never repeats net-snmp message text that can quote the community', () => {
    const err = { name: 'ResponseInvalidError', code: 10, message: "Community 'secret-community' in request does not match community 'x'" };
    expect(classifySnmpError(err, request).detail).not.toContain('secret-community');
    const report = { name: 'ResponseInvalidError', code: 5, message: 'made up secret text' };
    expect(classifySnmpError(report, request).detail).toBe('SNMPv3 request rejected by the device: authentication failure');
  });

  it('explains a timeout with what can cause it and the bounds used', () => {
    expect(classifySnmpError({ name: 'RequestTimedOutError' }, request).detail).toMatch(/^no response within 2s \(2 tries\): device down or unreachable, or a wrong v2c community/);
  });
});

describe('SNMP credentials', () => {
  const device = (extra: object): SnmpDeviceConfig =>
    parseConfigText(
      JSON.stringify({
        site: { id: 'dc', name: 'DC' },
        modules: { tcp: { kind: 'tcp', port: 1 } },
        targets: [{ name: 't', module: 'tcp', host: '198.18.0.1' }],
        snmp: { devices: [{ name: 'r', address: '198.18.0.1', interfaces: [{ if_name: 'eth0' }], ...extra }] },
      }),
      'inline.yaml',
    ).snmp!.devices[0]!;

  it('reads a v2c community from a file without its trailing newline, or from the environment', async () => {
    const file = join(dir, 'community');
    writeFileSync(file, 's3cret-community\n');
    expect(await readCredentials(device({ version: 'v2c', community_file: file }), 'snmp.devices[0]')).toEqual({ version: 'v2c', community: 's3cret-community' });
    expect(await readCredentials(device({ version: 'v2c', community_env: 'C' }), 'snmp.devices[0]', { C: 'from-env' })).toEqual({ version: 'v2c', community: 'from-env' });
  });

  it('reads v3 authPriv passwords, SHA and AES by default', async () => {
    const v3 = { user: 'linkmon', auth_password_env: 'A', priv_password_env: 'P' };
    expect(await readCredentials(device({ version: 'v3', v3 }), 'snmp.devices[0]', { A: 'auth-password', P: 'priv-password' })).toEqual({
      version: 'v3',
      user: 'linkmon',
      authProtocol: 'sha',
      authPassword: 'auth-password',
      privProtocol: 'aes',
      privPassword: 'priv-password',
    });
  });

  it('names the field and the file or variable when a secret is missing or too short, never the secret', async () => {
    const missing = join(dir, 'missing');
    await expect(readCredentials(device({ version: 'v2c', community_file: missing }), 'snmp.devices[0]')).rejects.toThrow(
      `snmp.devices[0].community_file: cannot read ${missing} (file not found)`,
    );
    await expect(readCredentials(device({ version: 'v2c', community_env: 'C' }), 'snmp.devices[0]', {})).rejects.toThrow('snmp.devices[0].community_env "C": environment variable not set');
    const short = readCredentials(device({ version: 'v3', v3: { user: 'u', auth_password_env: 'A', priv_password_env: 'P' } }), 'snmp.devices[0]', { A: 'pw-42', P: 'long-enough' });
    await expect(short).rejects.toThrow('snmp.devices[0].v3.auth_password_env "A" is shorter than 8 characters (SNMPv3 USM minimum)');
    await expect(short).rejects.toBeInstanceOf(SnmpPollError);
    await expect(short).rejects.not.toThrow('pw-42');
  });
});

describe('SNMP and link-terms components', () => {
  const config = (snmp: string, links = '') =>
    parseConfigText(
      `site: { id: dc, name: DC }
modules: { tcp: { kind: tcp, port: 1 } }
targets: [{ name: t, module: tcp, host: 198.18.0.1 }]
${snmp}
${links}`,
      'inline.yaml',
    );
  const two = `snmp:
  devices:
    - { name: r1, address: 198.18.0.1, version: v2c, community_env: C, interfaces: [{ if_name: eth0 }, { if_name: eth1 }] }
    - { name: r2, address: 198.18.0.2, version: v2c, community_env: C, interfaces: [{ if_name: eth0 }] }`;
  const one = `snmp:
  devices:
    - { name: r1, address: 198.18.0.1, version: v2c, community_env: C, interfaces: [{ if_name: eth0 }] }`;
  const log = pino({ level: 'silent' });

  it('creates every configured series at zero, and a reload on the same registry removes only what it dropped', async () => {
    const registry = new Registry();
    expect(snmpComponent({ config: config(two), registry, log })).toBeDefined();
    let samples = parseExposition(await registry.metrics());
    expect(sumSamples(samples, 'linkmon_interface_bytes_total', { device: 'r1', interface: 'eth1', direction: 'in' })).toBe(0);
    expect(samples.filter((s) => s.name === 'linkmon_snmp_poll_failures_total' && s.labels.device === 'r2')).toHaveLength(8);

    snmpComponent({ config: config(one), registry, log });
    samples = parseExposition(await registry.metrics());
    const devices = new Set(samples.filter((s) => s.name.startsWith('linkmon_snmp_')).map((s) => s.labels.device));
    expect([...devices]).toEqual(['r1']);
    const interfaces = new Set(samples.filter((s) => s.name === 'linkmon_interface_bytes_total').map((s) => s.labels.interface));
    expect([...interfaces]).toEqual(['eth0']);

    expect(snmpComponent({ config: config(''), registry, log })).toBeUndefined();
    expect(parseExposition(await registry.metrics()).filter((s) => s.name.startsWith('linkmon_interface_'))).toEqual([]);
  });

  it('exports link terms in base units, and clears them when a reload drops the links', async () => {
    const registry = new Registry();
    const links = `links:
  - name: hsl
    interfaces: [{ device: r1, interface: eth0 }]
    capacity: 2Gbps
    step: { lead_time: 45d }`;
    await linkTermsComponent({ config: config(one, links), registry, log })!.start();
    const samples = parseExposition(await registry.metrics());
    const at = { link: 'hsl' };
    expect(sumSamples(samples, 'linkmon_link_info', { ...at, device: 'r1', interface: 'eth0' })).toBe(1);
    expect(sumSamples(samples, 'linkmon_link_capacity_bytes', at)).toBe(250e6);
    expect(sumSamples(samples, 'linkmon_link_step_bytes', at)).toBe(125e6);
    expect(sumSamples(samples, 'linkmon_link_step_one_off_cost_gbp', at)).toBe(500);
    expect(sumSamples(samples, 'linkmon_link_step_annual_cost_gbp', at)).toBe(1500);
    expect(sumSamples(samples, 'linkmon_link_step_lead_time_seconds', at)).toBe(45 * 86400);
    expect(sumSamples(samples, 'linkmon_link_threshold_ratio', { ...at, threshold: 'recommend' })).toBe(0.7);
    expect(sumSamples(samples, 'linkmon_link_threshold_ratio', { ...at, threshold: 'forecast' })).toBe(0.8);
    expect(sumSamples(samples, 'linkmon_link_threshold_ratio', { ...at, threshold: 'unused' })).toBe(0.5);

    await linkTermsComponent({ config: config(one), registry, log })!.start();
    expect(parseExposition(await registry.metrics()).filter((s) => s.name.startsWith('linkmon_link_'))).toEqual([]);
  });

  it('reads link speeds in bits per second', () => {
    expect(parseBitRate('1Gbps')).toBe(1e9);
    expect(parseBitRate('2.5 Gbps')).toBe(2.5e9);
    expect(parseBitRate('500Mbps')).toBe(500e6);
    expect(parseBitRate('1 GB')).toBeUndefined();
  });
});
