// The network lab: site namespaces -- wan router -- dc namespace, with rate limits, random drop,
// blackholes and a userspace delay line on the router. Needs root and the Debian packages
// iproute2, nftables and python3 (see README.md for the address plan and what sits where).
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { onProcessExit } from '../support/exit-cleanup.js';
import type { NetnsBridge } from '../support/netns-bridge.js';
import { DC_GATEWAY, DC_SUBNET, dcAddress, MAX_SITES, SITES_SUPERNET, siteAddress, siteGateway } from './addresses.js';
import { DelayLine, type DelayLineStats, type DelaySpec } from './delay-line.js';
import { DROP_SCALE, dropRuleKey, NFT_TABLE, parseDropCounters, rateInterface, renderNftRuleset, tbfArgs, type Direction, type DropRule, type Protocol, type RateSpec } from './impairments.js';
import { cleanupStaleLabs, netnsEtcDir, newLabPrefix, removeNamespace, removeNamespaceSync } from './naming.js';
import { namespaceProcesses } from './namespace-processes.js';
import { inNetns, run, type RunOptions, type RunResult } from './run.js';

export type { Direction, DelaySpec, DropRule, RateSpec, Protocol, DelayLineStats };
export { cleanupStaleLabs };

export interface DropScope {
  site?: number;
  protocol?: Protocol;
  /** Only packets to (site_to_dc) or from (dc_to_site) this dc address, e.g. one probe target. */
  dcAddress?: string;
}

export interface DelayScope {
  site?: number;
  /** A dc address (198.18.100.x): delay only traffic to (site_to_dc) or from (dc_to_site) it. */
  dcAddress?: string;
}

/** A drop rule and the packets it has dropped since the ruleset last changed. */
export interface DropCount extends DropRule {
  packets: number;
}

export interface LabOptions {
  /** Number of site namespaces, 1..99 (default 1). */
  sites?: number;
  /** Addresses on the dc namespace's interface: 198.18.100.2, .3, ... (default 4). */
  dcAddresses?: number;
}

export interface Lab {
  /** Unique per lab, e.g. `lml48213xq70`; every namespace name starts with `<prefix>-`. */
  readonly prefix: string;
  /** Namespace names. */
  readonly wan: string;
  readonly dc: string;
  readonly sites: readonly string[];
  /** Namespace of site i (1-based, default 1). */
  site(i?: number): string;
  /** 198.18.<i>.2: site i's address. */
  siteAddress(i?: number): string;
  /** 198.18.100.<1+k>: the dc's k-th address (1-based, default 1). */
  dcAddress(k?: number): string;

  /** Runs argv inside `ns`; rejects when it exits non-zero unless allowFailure. */
  exec(ns: string, argv: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts argv inside `ns`; killed by destroy() if still running. */
  spawn(ns: string, argv: string[], options?: SpawnOptions): ChildProcess;
  /** Makes `host:port` inside `ns` reachable from the test process; closed by destroy(). */
  bridge(ns: string, port: number, host?: string): Promise<NetnsBridge>;

  /** tbf rate limit for one direction of a site's access link, or of the shared HSL (site omitted); null removes it. */
  setRate(direction: Direction, rate: RateSpec | null, site?: number): Promise<void>;
  /**
   * Random drop (0..1) for one direction, per site or shared (site omitted), optionally only one protocol
   * and/or only traffic to/from one dc address. 0 removes the rule with exactly this scope.
   */
  setDrop(direction: Direction, ratio: number, scope?: DropScope): Promise<void>;
  /**
   * What each drop rule has dropped (nftables rule counters, read in one `nft` call). Every ruleset
   * change (setDrop, blackhole, clearImpairments) restarts all counters at 0. Rules with ratio 0
   * do not exist, so they have no entry.
   */
  dropCounts(): Promise<DropCount[]>;
  /**
   * One-way delay ± uniform jitter through the delay line for packets of one site and/or one dc address
   * (a number is a site; nothing is everyone). Matching delays add up (e.g. shared 5 ms + site 20 ms).
   * The first call puts the direction's delay line into the path; `{ ms: 0 }` keeps packets passing
   * through it (fixed ~0.2 ms: the base to compare against); `null` with no scope takes it out (bypass),
   * `null` with a scope sets that scope's delay to 0.
   */
  setDelay(direction: Direction, delay: DelaySpec | null, scope?: number | DelayScope): Promise<void>;
  delayStats(direction: Direction): Promise<DelayLineStats | undefined>;
  /** Drops (silently, no ICMP) every forwarded packet to `address`. */
  blackhole(address: string, enabled?: boolean): Promise<void>;
  /**
   * Drops every packet arriving at the dc address `address` in the dc namespace's own input hook
   * (nftables): the far host is dead (its SYNs go unanswered, its resolver never answers) while
   * the path to it and to the other dc addresses stays up. Not cleared by clearImpairments().
   */
  dropAt(address: string, enabled?: boolean): Promise<void>;
  /**
   * Makes processes started afterwards in site i's namespace (exec, spawn) use `nameserver` as
   * their DNS resolver: /etc/netns/<ns>/resolv.conf, which `ip netns exec` mounts over
   * /etc/resolv.conf. Removed with the namespace.
   */
  setResolver(site: number, nameserver: string): void;
  /** Removes all rates, drops, blackholes; delay lines stay in the path with 0 delay. */
  clearImpairments(): Promise<void>;
  /** Kills everything started in the lab and removes its namespaces. Safe to call twice. */
  destroy(): Promise<void>;
}

const DELAY_ROUTING = {
  site_to_dc: { tun: 'dls2d', table: 100, pref: 100, addressField: 'src' },
  dc_to_site: { tun: 'dld2s', table: 101, pref: 101, addressField: 'dst' },
} as const;

export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const siteCount = options.sites ?? 1;
  const dcAddressCount = options.dcAddresses ?? 4;
  if (!Number.isInteger(siteCount) || siteCount < 1 || siteCount > MAX_SITES) throw new Error(`createLab: sites must be 1..${MAX_SITES}, got ${siteCount}`);
  if (!Number.isInteger(dcAddressCount) || dcAddressCount < 1 || dcAddressCount > 200) throw new Error(`createLab: dcAddresses must be 1..200`);
  await cleanupStaleLabs();

  const prefix = newLabPrefix();
  const wan = `${prefix}-wan`;
  const dc = `${prefix}-dc`;
  const sites = Array.from({ length: siteCount }, (_, i) => `${prefix}-site${i + 1}`);
  const namespaces = [wan, dc, ...sites];
  const processes = namespaceProcesses();
  const delayLines = new Map<Direction, DelayLine>();
  /** `site dcHost` keys with a delay set, so clearImpairments() can zero them. */
  const delayedKeys = new Map<Direction, Set<string>>();
  const ifbs = new Set<string>();
  const shapedDevices = new Set<string>();
  let drops: DropRule[] = [];
  const blackholed = new Set<string>();
  const deadAddresses = new Set<string>();
  let destroyed = false;

  const unregisterExitCleanup = onProcessExit(() => {
    processes.killAll();
    for (const ns of namespaces) removeNamespaceSync(ns);
  });

  const ip = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);
  const tc = (...args: string[]) => run(['tc', '-n', wan, ...args]);
  const sysctl = (ns: string, ...settings: string[]) => run(inNetns(ns, ['sysctl', '-q', '-w', ...settings]));
  const checkSite = (site: number | undefined) => {
    if (site !== undefined && (!Number.isInteger(site) || site < 1 || site > siteCount)) throw new Error(`lab ${prefix}: no site ${site} (sites 1..${siteCount})`);
  };
  const applyNft = () => run(inNetns(wan, ['nft', '-f', '-']), { input: renderNftRuleset(drops, [...blackholed]) });

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await Promise.allSettled([...delayLines.values()].map((line) => line.stop()));
    await processes.stopAll();
    for (const ns of namespaces) await removeNamespace(ns);
    unregisterExitCleanup();
  };

  const build = async () => {
    for (const ns of namespaces) {
      await run(['ip', 'netns', 'add', ns]);
      await ip(ns, 'link', 'set', 'lo', 'up');
    }
    // Before any interface exists, so each new one inherits the defaults.
    await sysctl(
      wan,
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
      'net.ipv6.conf.default.disable_ipv6=1',
    );
    await ip(wan, 'link', 'add', 'name', 'dc', 'type', 'veth', 'peer', 'name', 'wan', 'netns', dc);
    await ip(wan, 'addr', 'add', `${DC_GATEWAY}/24`, 'dev', 'dc');
    await ip(wan, 'link', 'set', 'dc', 'up');
    for (let k = 1; k <= dcAddressCount; k++) await ip(dc, 'addr', 'add', `${dcAddress(k)}/24`, 'dev', 'wan');
    await ip(dc, 'link', 'set', 'wan', 'up');
    await ip(dc, 'route', 'add', 'default', 'via', DC_GATEWAY);
    for (let i = 1; i <= siteCount; i++) {
      const site = sites[i - 1]!;
      await ip(wan, 'link', 'add', 'name', `site${i}`, 'type', 'veth', 'peer', 'name', 'wan', 'netns', site);
      await ip(wan, 'addr', 'add', `${siteGateway(i)}/24`, 'dev', `site${i}`);
      await ip(wan, 'link', 'set', `site${i}`, 'up');
      await ip(site, 'addr', 'add', `${siteAddress(i)}/24`, 'dev', 'wan');
      await ip(site, 'link', 'set', 'wan', 'up');
      await ip(site, 'route', 'add', 'default', 'via', siteGateway(i));
    }
    await applyNft();
  };

  const ensureDelayLine = async (direction: Direction): Promise<DelayLine> => {
    const existing = delayLines.get(direction);
    if (existing) return existing;
    const routing = DELAY_ROUTING[direction];
    const line = await DelayLine.start(wan, routing.tun, routing.addressField);
    delayLines.set(direction, line);
    await ip(wan, 'link', 'set', routing.tun, 'up');
    // Only packets arriving from the far side enter the TUN; what the delay line writes back
    // arrives on the TUN itself, matches no rule and is forwarded by the main table: no loop.
    if (direction === 'site_to_dc') {
      await ip(wan, 'route', 'replace', DC_SUBNET, 'dev', routing.tun, 'table', String(routing.table));
      for (let i = 1; i <= siteCount; i++) {
        await ip(wan, 'rule', 'add', 'pref', String(routing.pref), 'iif', `site${i}`, 'to', DC_SUBNET, 'lookup', String(routing.table));
      }
    } else {
      await ip(wan, 'route', 'replace', SITES_SUPERNET, 'dev', routing.tun, 'table', String(routing.table));
      await ip(wan, 'rule', 'add', 'pref', String(routing.pref), 'iif', 'dc', 'to', SITES_SUPERNET, 'lookup', String(routing.table));
    }
    return line;
  };

  const removeDelayLine = async (direction: Direction) => {
    const line = delayLines.get(direction);
    if (!line) return;
    const routing = DELAY_ROUTING[direction];
    // Delete every rule with this preference (one per site for site_to_dc).
    for (let i = 0; i <= siteCount; i++) {
      const { code } = await run(['ip', '-n', wan, 'rule', 'del', 'pref', String(routing.pref)], { allowFailure: true });
      if (code !== 0) break;
    }
    await line.stop();
    delayLines.delete(direction);
    delayedKeys.delete(direction);
  };

  try {
    await build();
  } catch (err) {
    await destroy();
    throw err;
  }

  const lab: Lab = {
    prefix,
    wan,
    dc,
    sites,
    site: (i = 1) => {
      checkSite(i);
      return sites[i - 1]!;
    },
    siteAddress: (i = 1) => {
      checkSite(i);
      return siteAddress(i);
    },
    dcAddress: (k = 1) => {
      if (k < 1 || k > dcAddressCount) throw new Error(`lab ${prefix}: no dc address ${k} (1..${dcAddressCount})`);
      return dcAddress(k);
    },

    exec: processes.exec,
    spawn: processes.spawn,
    bridge: processes.bridge,

    setRate: async (direction, rate, site) => {
      checkSite(site);
      const { device, ingressOf } = rateInterface(direction, site);
      if (ingressOf && !ifbs.has(device)) {
        await ip(wan, 'link', 'add', 'name', device, 'type', 'ifb');
        await ip(wan, 'link', 'set', device, 'up');
        await tc('qdisc', 'add', 'dev', ingressOf, 'handle', 'ffff:', 'ingress');
        await tc('filter', 'add', 'dev', ingressOf, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', device);
        ifbs.add(device);
      }
      if (rate) {
        if (!(rate.mbit > 0)) throw new Error(`setRate: mbit must be > 0, got ${rate.mbit}`);
        await tc('qdisc', 'replace', 'dev', device, 'root', ...tbfArgs(rate));
        shapedDevices.add(device);
      } else if (shapedDevices.delete(device)) {
        await tc('qdisc', 'del', 'dev', device, 'root');
      }
    },
    setDrop: async (direction, ratio, scope = {}) => {
      checkSite(scope.site);
      if (!(ratio >= 0 && ratio <= 1)) throw new Error(`setDrop: ratio must be 0..1, got ${ratio}`);
      if (ratio > 0 && Math.round(ratio * DROP_SCALE) === 0) throw new Error(`setDrop: ratio must be 0 or at least ${1 / DROP_SCALE} (nftables numgen steps), got ${ratio}`);
      const same = (d: DropRule) => d.direction === direction && d.site === scope.site && d.protocol === scope.protocol && d.dcAddress === scope.dcAddress;
      drops = [...drops.filter((d) => !same(d)), ...(ratio > 0 ? [{ direction, ratio, ...scope }] : [])];
      await applyNft();
    },
    dropCounts: async () => {
      const { stdout } = await run(inNetns(wan, ['nft', '-j', 'list', 'table', 'inet', NFT_TABLE]));
      const counts = parseDropCounters(stdout);
      return drops.map((rule) => ({ ...rule, packets: counts.get(dropRuleKey(rule)) ?? 0 }));
    },
    setDelay: async (direction, delay, scope = {}) => {
      const { site, dcAddress: address } = typeof scope === 'number' ? { site: scope, dcAddress: undefined } : scope;
      checkSite(site);
      const dcHost = address === undefined ? 0 : dcHostOf(address);
      if (delay === null && site === undefined && address === undefined) return removeDelayLine(direction);
      const spec = delay ?? { ms: 0 };
      if (!(spec.ms >= 0) || !((spec.jitterMs ?? 0) >= 0)) throw new Error(`setDelay: ms and jitterMs must be >= 0`);
      const line = await ensureDelayLine(direction);
      await line.set(site ?? 0, dcHost, spec);
      const known = delayedKeys.get(direction) ?? new Set<string>();
      delayedKeys.set(direction, known.add(`${site ?? 0} ${dcHost}`));
    },
    delayStats: async (direction) => delayLines.get(direction)?.stats(),
    blackhole: async (address, enabled = true) => {
      if (enabled) blackholed.add(address);
      else blackholed.delete(address);
      await applyNft();
    },
    dropAt: async (address, enabled = true) => {
      dcHostOf(address);
      if (enabled) deadAddresses.add(address);
      else deadAddresses.delete(address);
      const drops = [...deadAddresses].map((a) => `    ip daddr ${a} drop\n`).join('');
      const ruleset = `table inet lmdead\ndelete table inet lmdead\ntable inet lmdead {\n  chain input {\n    type filter hook input priority 0; policy accept;\n${drops}  }\n}\n`;
      await run(inNetns(dc, ['nft', '-f', '-']), { input: ruleset });
    },
    setResolver: (site, nameserver) => {
      const dir = netnsEtcDir(lab.site(site));
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/resolv.conf`, `nameserver ${nameserver}\n`);
    },
    clearImpairments: async () => {
      drops = [];
      blackholed.clear();
      await applyNft();
      for (const device of [...shapedDevices]) {
        shapedDevices.delete(device);
        await tc('qdisc', 'del', 'dev', device, 'root');
      }
      for (const [direction, keys] of delayedKeys) {
        const line = delayLines.get(direction);
        for (const key of keys) {
          const [site, dcHost] = key.split(' ').map(Number);
          await line?.set(site!, dcHost!, { ms: 0 });
        }
      }
    },
    destroy,
  };
  return lab;
}

/** Last octet of a dc address (198.18.100.x), as the delay line keys it. */
function dcHostOf(address: string): number {
  const match = /^198\.18\.100\.(\d{1,3})$/.exec(address);
  const host = match ? Number(match[1]) : NaN;
  if (!(host >= 1 && host <= 254)) throw new Error(`setDelay: dcAddress must be a dc address 198.18.100.x, got ${address}`);
  return host;
}
