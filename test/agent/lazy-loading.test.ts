import { execFile } from 'node:child_process';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { COMPONENTS, componentUsedBy } from '../../agent/components.js';
import { parseConfigText } from '../../agent/config/load.js';
import type { ProberRegistry } from '../../agent/probes/registry.js';
import type { Prober } from '../../agent/probes/types.js';
import { REPO_ROOT } from '../support/linkmon-process.js';

const silent = pino({ level: 'silent' });

const config = (modules: string, targets: string, extra = '') =>
  parseConfigText(['site: {id: esb, name: ESB}', 'listen: {address: 127.0.0.1, port: 0}', 'modules:', modules, 'targets:', targets, extra].join('\n'), 'lazy.yaml');

const TCP_ONLY = config('  gw: {kind: tcp, interval: 1h, timeout: 1s}', '  - {name: gw, module: gw, host: 198.18.0.1, port: 1}');
const WITH_UDP = config('  gw: {kind: tcp, interval: 1h, timeout: 1s}\n  u: {kind: udp, interval: 1h, packets: 1}', '  - {name: gw, module: gw, host: 198.18.0.1, port: 1}\n  - {name: u, module: u, host: 198.18.0.1}');

/** A registry of stand-in probers that records which kinds the agent asked for. */
function countingRegistry() {
  const loaded: string[] = [];
  const prober = <K extends 'tcp' | 'udp'>(kind: K) => async (): Promise<Prober<K>> => {
    loaded.push(kind);
    return { probe: async () => ({ ok: false, reason: 'timeout', detail: 'stand-in' }) };
  };
  const registry: ProberRegistry = { tcp: prober('tcp'), udp: prober('udp'), icmp: async () => Promise.reject(new Error('icmp is not configured')) };
  return { registry, loaded };
}

describe('loading only what the config uses', () => {
  it('imports the prober of each configured kind once, when a config first uses it', async () => {
    const { registry, loaded } = countingRegistry();
    const agent = new Agent(silent, registry);
    await agent.apply(TCP_ONLY);
    expect(loaded).toEqual(['tcp']);
    await agent.apply(WITH_UDP);
    expect(loaded).toEqual(['tcp', 'udp']);
    await agent.stop();
  });

  it('reports a prober that cannot be loaded as unavailable and keeps the rest running', async () => {
    const agent = new Agent(silent, { tcp: async () => Promise.reject(new Error('module not found')) });
    await agent.apply(TCP_ONLY);
    expect(agent.proberAvailability().get('tcp')).toEqual({ available: false, why: 'could not load the tcp prober: module not found' });
    await agent.stop();
  });

  it('switches a component on by the kinds its targets use or by its config section', async () => {
    const byName = (name: string) => COMPONENTS.find((c) => c.name === name)!;
    const plain = TCP_ONLY;
    const throughput = config(
      '  tp: {kind: throughput, schedule: "0 * * * *", token_env: T}\n  unused: {kind: tcp}',
      '  - {name: dc, module: tp, url: "http://198.18.0.2:9480/"}',
    );
    const unusedModule = config('  gw: {kind: tcp}\n  tp: {kind: throughput, schedule: "0 * * * *", token_env: T}', '  - {name: gw, module: gw, host: 198.18.0.1, port: 1}');
    expect(COMPONENTS.filter((c) => componentUsedBy(c, plain))).toEqual([]);
    expect(componentUsedBy(byName('throughput'), throughput)).toBe(true);
    expect(componentUsedBy(byName('throughput'), unusedModule)).toBe(false);
    const snmp = config(
      '  gw: {kind: tcp}',
      '  - {name: gw, module: gw, host: 198.18.0.1, port: 1}',
      'snmp: {devices: [{name: r1, address: 198.18.0.1, version: v2c, community_file: /dev/null, interfaces: [{if_name: eth0}]}]}',
    );
    expect(COMPONENTS.filter((c) => componentUsedBy(c, snmp)).map((c) => c.name)).toEqual(['snmp']);
  });
});

describe('the libraries a config does not use stay unloaded', () => {
  // A fresh process, so nothing another test imported counts (test/agent/loaded-packages.ts).
  it('an ICMP-only agent loads neither undici, net-snmp nor node-cron; a reload that uses them loads each', async () => {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', 'test/agent/loaded-packages.ts'], { cwd: REPO_ROOT, timeout: 30_000 }, (err, out, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out),
      ),
    );
    const steps = new Map(stdout.trim().split('\n').map((line) => {
      const { step, packages } = JSON.parse(line) as { step: string; packages: string[] };
      return [step, packages] as const;
    }));
    const libraries = ['net-snmp', 'node-cron', 'undici'];
    expect(steps.get('icmp only')).toEqual(expect.arrayContaining(['pino', 'prom-client', 'yaml', 'zod']));
    expect(libraries.filter((name) => steps.get('icmp only')?.includes(name))).toEqual([]);
    expect(libraries.filter((name) => steps.get('reload')?.includes(name))).toEqual(libraries);
  });
});
