// Needs root: raw ICMP sockets (CAP_NET_RAW), network namespaces and nftables; also setpriv
// (util-linux). Debian packages: iproute2, nftables. The prober runs in this process for loopback
// and in a child process (ip netns exec / setpriv) where it needs its own namespace or privileges.
// The cases run with every transport: the native addon's raw socket (kernel receive timestamps,
// built by `node-gyp rebuild` in agent/probes/native), the raw-socket fallback, and the addon's
// unprivileged ping socket, as nobody without capabilities in a namespace whose
// net.ipv4.ping_group_range allows it (the host's is left alone).
import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IcmpProber } from '../../../../agent/probes/icmp/prober.js';
import { nativeAddon } from '../../../../agent/probes/native/addon.js';
import type { IcmpTransport } from '../../../../agent/probes/icmp/socket.js';
import type { ModuleOf, ProbeResult } from '../../../../agent/probes/types.js';
import { createLoopbackNamespace, type LoopbackNamespace } from '../../../lab/loopback-namespace.js';
import { run } from '../../../lab/run.js';
import { captureFields } from '../../../lab/tshark.js';
import { killOnProcessExit } from '../../../support/exit-cleanup.js';
import type { RunnerOutput, RunnerProbe } from './probe-runner.js';

const REPO_ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
const RUNNER = fileURLToPath(new URL('./probe-runner.ts', import.meta.url));

const icmp = (overrides: Partial<ModuleOf<'icmp'>> = {}): ModuleOf<'icmp'> => ({
  kind: 'icmp',
  interval: 10,
  timeout: 1,
  packets: 1,
  payload_bytes: 56,
  ...overrides,
});

/** The transports root can use in this process; ping sockets are tested as nobody in a namespace below. */
const TRANSPORTS = ['raw', 'raw-socket'] as const satisfies readonly IcmpTransport[];
const TIMESTAMPS = { raw: 'kernel', 'raw-socket': 'event-loop' } as const;
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];

/** Runs probe-runner.ts with `prefix` before node (e.g. ip netns exec NS, setpriv ...). */
function runRunner(prefix: string[], probes: RunnerProbe[], transport: IcmpTransport): Promise<RunnerOutput> {
  const argv = [...prefix, process.execPath, '--import', 'tsx', RUNNER, JSON.stringify({ probes, transport })];
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${argv.slice(0, 6).join(' ')} … failed: ${stderr || error.message}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as RunnerOutput);
      } catch {
        reject(new Error(`probe runner printed no result: ${stdout}${stderr}`));
      }
    });
  });
}

it('has the kernel-timestamp addon built (agent/probes/native)', () => {
  expect(nativeAddon()).toBeDefined();
});

describe.each(TRANSPORTS)('ICMP prober on host loopback (%s)', (transport) => {
  const prober = new IcmpProber(transport);
  const signal = new AbortController().signal;
  const probe = (host: string, module = icmp()) => prober.probe({ target: { name: 't', module: 'icmp', host, labels: {} }, module, labels: {}, signal });

  beforeAll(async () => {
    expect(await prober.start()).toEqual({ available: true, facts: { timestamps: TIMESTAMPS[transport], ipv4_socket: 'raw', ipv6_socket: 'raw' } });
    expect(prober.timestampSource()).toBe(TIMESTAMPS[transport]);
  });
  afterAll(() => prober.stop());

  it('measures loopback RTT at sub-millisecond, microsecond resolution', async () => {
    const rtts: number[] = [];
    for (let i = 0; i < 10; i++) {
      const result = await probe('127.0.0.1');
      expect(result).toMatchObject({ ok: true });
      if (result.ok) rtts.push(result.durationSeconds);
    }
    for (const rtt of rtts) {
      expect(rtt).toBeGreaterThan(0);
      expect(rtt).toBeLessThan(0.5);
    }
    // A millisecond clock (net-ping's new Date()) could only give whole milliseconds.
    expect(rtts.filter((rtt) => !Number.isInteger(rtt * 1000)).length).toBe(rtts.length);
    expect(Math.min(...rtts)).toBeLessThan(0.001);
  });

  it('probes IPv6 loopback and a name that resolves to loopback, saying which family it used', async () => {
    expect(await probe('::1')).toMatchObject({ ok: true, ipProtocol: 6 });
    expect(await probe('127.0.0.1')).toMatchObject({ ok: true, ipProtocol: 4 });
    expect(await probe('localhost')).toMatchObject({ ok: true, ipProtocol: 4 });
  });

  it('matches many concurrent echoes to several addresses on one socket', async () => {
    const hosts = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
    const sent = Array.from({ length: 240 }, (_, i) => hosts[i % hosts.length]!);
    const results = await Promise.all(sent.map((host) => probe(host, icmp({ payload_bytes: 16 + (sent.indexOf(host) % 3) * 500 }))));
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('settles echoes in flight when the signal aborts', async () => {
    const controller = new AbortController();
    const pending = prober.probe({ target: { name: 't', module: 'icmp', host: '127.0.0.1', labels: {} }, module: icmp(), labels: {}, signal: controller.signal });
    controller.abort();
    const result: ProbeResult = await pending;
    // Either the reply beat the abort or the abort settled it; it must not hang until the timeout.
    expect(result.ok || result.reason === 'error').toBe(true);
  });
});

/** A namespace with only lo up and its own ping_group_range for this describe block; returns its name once created. */
function throwawayNamespace(suffix: string, pingGroupRange: string, setup: (ns: string) => Promise<void> = async () => {}): () => string {
  let namespace: LoopbackNamespace | undefined;
  beforeAll(async () => {
    namespace = await createLoopbackNamespace(suffix, { pingGroupRange });
    await setup(namespace.name);
  });
  afterAll(() => namespace?.remove());
  return () => namespace!.name;
}

describe('ICMP prober in a throwaway namespace (drop, reject, prohibit, no route)', () => {
  // Every group may open ping sockets here; root still gets a raw socket first.
  const ns = throwawayNamespace('icmp', '0 2147483647', async (ns) => {
    for (const address of ['fd00::9/128', 'fd00::10/128']) await run(['ip', '-n', ns, 'addr', 'add', address, 'dev', 'lo', 'nodad']);
    const ruleset = `table inet linkmon_icmp_test {
      chain input {
        type filter hook input priority 0;
        ip daddr 127.0.0.9 icmp type echo-request drop
        ip daddr 127.0.0.10 icmp type echo-request reject with icmp type host-unreachable
        ip daddr 127.0.0.11 icmp type echo-request reject with icmp type admin-prohibited
        ip6 daddr fd00::9 icmpv6 type echo-request drop
        ip6 daddr fd00::10 icmpv6 type echo-request reject with icmpv6 type addr-unreachable
      }
    }`;
    await run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset });
  });

  // An "administratively prohibited" error leaves a pending socket error (sk_err) that fails the
  // next send and stops libuv's poll; echoes interleaved with it must still be answered.
  it.each([
    { transport: 'raw', as: 'root', socket: 'raw', timestamps: 'kernel' },
    { transport: 'raw-socket', as: 'root', socket: 'raw', timestamps: 'event-loop' },
    { transport: 'auto', as: 'nobody', socket: 'ping', timestamps: 'kernel' },
  ] as const)('tells replies, timeouts, unreachables and send errors apart with echoes interleaved ($transport as $as)', async ({ transport, as, socket, timestamps }) => {
    const expected: { probe: RunnerProbe; want: Partial<ProbeResult> }[] = [];
    for (let round = 0; round < 30; round++) {
      for (let host = 1; host <= 4; host++) expected.push({ probe: { host: `127.0.0.${host}` }, want: { ok: true } });
      if (round % 5 === 0) {
        expected.push({ probe: { host: '127.0.0.9', timeout: 0.5 }, want: { ok: false, reason: 'timeout' } });
        expected.push({ probe: { host: '127.0.0.10' }, want: { ok: false, reason: 'unreachable' } });
        expected.push({ probe: { host: '127.0.0.11' }, want: { ok: false, reason: 'unreachable' } });
        expected.push({ probe: { host: '::1' }, want: { ok: true } });
        expected.push({ probe: { host: 'fd00::9', timeout: 0.5 }, want: { ok: false, reason: 'timeout' } });
        expected.push({ probe: { host: 'fd00::10' }, want: { ok: false, reason: 'unreachable' } });
      }
    }
    // Only lo exists in the namespace: no route (a send error) and no resolver (a lookup failure).
    expected.push({ probe: { host: '198.18.3.3' }, want: { ok: false, reason: 'network' } });
    expected.push({ probe: { host: 'no-such-host.invalid' }, want: { ok: false, reason: 'dns' } });

    const output = await runRunner(['ip', 'netns', 'exec', ns(), ...(as === 'nobody' ? AS_NOBODY : [])], expected.map((e) => e.probe), transport);
    expect(output.availability).toEqual({ available: true, facts: { timestamps, ipv4_socket: socket, ipv6_socket: socket } });
    expect(output.timestamps).toBe(timestamps);
    const got = output.results.map((result, i) => ({ host: expected[i]!.probe.host, ok: result.ok, reason: result.ok ? undefined : result.reason }));
    const want = expected.map(({ probe, want }) => ({ host: probe.host, ok: want.ok, reason: want.ok ? undefined : (want as { reason: string }).reason }));
    expect(got).toEqual(want);
  });
});

describe('ICMP DSCP and source address on both families (tshark on the namespace\'s loopback)', () => {
  const ns = throwawayNamespace('icmpdscp', '0 2147483647', async (ns) => {
    await run(['ip', '-n', ns, 'addr', 'add', 'fd00::5/128', 'dev', 'lo', 'nodad']);
  });
  const spawnIn = (namespace: string, argv: string[], options: SpawnOptions) => {
    const child = spawn('ip', ['netns', 'exec', namespace, ...argv], options);
    killOnProcessExit(child);
    return child;
  };

  it.each(['root', 'nobody'] as const)('sets IP_TOS and IPV6_TCLASS, and binds the source, on a %s socket', async (as) => {
    const probes: RunnerProbe[] = [
      { host: '127.0.0.1', dscp: 40, source_ip_address: '127.0.0.7' },
      { host: '::1', dscp: 40, source_ip_address: 'fd00::5' },
      { host: '127.0.0.1' },
    ];
    let output: RunnerOutput | undefined;
    const rows = await captureFields(spawnIn, ns(), 'lo', 'icmp[icmptype] == icmp-echo or icmp6[icmp6type] == icmp6-echo', async () => {
      output = await runRunner(['ip', 'netns', 'exec', ns(), ...(as === 'nobody' ? AS_NOBODY : [])], probes, 'auto');
    }, ['ip.src', 'ipv6.src', 'ip.dsfield.dscp', 'ipv6.tclass.dscp']);
    expect(output?.results.map((r) => r.ok)).toEqual([true, true, true]);
    const seen = rows.map(([v4 = '', v6 = '', dscp4 = '', dscp6 = '']) => ({ source: v4 || v6, dscp: Number(dscp4 || dscp6) }));
    expect(seen).toEqual(expect.arrayContaining([{ source: '127.0.0.7', dscp: 40 }, { source: 'fd00::5', dscp: 40 }, { source: '127.0.0.1', dscp: 0 }]));
    expect(seen).toHaveLength(3);
  });
});

describe('ICMP prober without CAP_NET_RAW and outside ping_group_range', () => {
  // The kernel's default range: no group may open ping sockets.
  const ns = throwawayNamespace('noping', '1 0');

  it.each(['auto', 'raw-socket'] as const)('reports itself unavailable, saying why, instead of throwing (%s)', async (transport) => {
    const output = await runRunner(['ip', 'netns', 'exec', ns(), ...AS_NOBODY], [{ host: '127.0.0.1' }], transport);
    expect(output.availability.available).toBe(false);
    if (!output.availability.available) {
      expect(output.availability.why).toMatch(/CAP_NET_RAW/);
      expect(output.availability.why).toMatch(/gid 65534\) is in net\.ipv4\.ping_group_range \(1 0\)/);
      if (transport === 'auto') expect(output.availability.why).toMatch(/raw socket: EPERM: .*; ping socket: EACCES: /);
    }
    expect(output.results).toEqual([]);
  });
});
