// A chain of three router namespaces between a site and the data centre, for path tracing: the
// route can be switched to a bypass (one hop fewer), a router can blackhole traffic, and two
// routers can be made to route into each other (a loop). Needs root and the Debian packages
// iproute2 and nftables. Namespace names and stale-lab cleanup as in lab.ts (naming.ts).
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { onProcessExit } from '../support/exit-cleanup.js';
import type { NetnsBridge } from '../support/netns-bridge.js';
import { namespaceProcesses } from './namespace-processes.js';
import { cleanupStaleLabs, newLabPrefix, removeNamespace, removeNamespaceSync } from './naming.js';
import { inNetns, run, type RunOptions, type RunResult } from './run.js';

/**
 * Address plan (198.19.0.0/16, inside the RFC 2544 benchmarking range; lab.ts uses 198.18.0.0/16):
 *
 *   site 198.19.1.2 ── .1 r1 .1 ── 198.19.12.0/24 ── .2 r2 .2 ── 198.19.23.0/24 ── .3 r3 .1 ── 198.19.100.2 dc
 *                         r1 .1 ──────────────── 198.19.13.0/24 (bypass) ───────────── .3 r3
 *
 * A router answers a probe whose TTL ends there from the address of its interface towards the
 * site (Linux picks the source of the route back), so the hops are 198.19.1.1, 198.19.12.2,
 * 198.19.23.3, 198.19.100.2 through r2, and 198.19.1.1, 198.19.23.3, 198.19.100.2 on the bypass
 * (r3's way back to the site stays through r2).
 */
export const CHAIN = {
  site: '198.19.1.2',
  dc: '198.19.100.2',
  hopsThroughR2: ['198.19.1.1', '198.19.12.2', '198.19.23.3', '198.19.100.2'],
  hopsOnBypass: ['198.19.1.1', '198.19.23.3', '198.19.100.2'],
} as const;

const SITE_NET = '198.19.1.0/24';
const DC_NET = '198.19.100.0/24';
const NFT_TABLE = 'linkmon_chain';

export interface RouterChain {
  readonly prefix: string;
  readonly site: string;
  readonly routers: readonly [string, string, string];
  readonly dc: string;
  exec(ns: string, argv: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts argv inside `ns`; killed by destroy() if still running. */
  spawn(ns: string, argv: string[], options?: SpawnOptions): ChildProcess;
  bridge(ns: string, port: number, host?: string): Promise<NetnsBridge>;
  /** r1 sends traffic for the dc straight to r3 (true) or through r2 (false). */
  useBypass(enabled: boolean): Promise<void>;
  /** Router `index` (1..3) silently drops every packet from the site, its own TTL expiries included (nftables prerouting). */
  blackhole(index: 1 | 2 | 3, enabled: boolean): Promise<void>;
  /** r2 sends traffic for the dc back to r1, which sends it to r2: a routing loop. */
  loop(enabled: boolean): Promise<void>;
  destroy(): Promise<void>;
}

export async function createRouterChain(): Promise<RouterChain> {
  await cleanupStaleLabs();
  const prefix = newLabPrefix();
  const site = `${prefix}-site`;
  const routers = [`${prefix}-r1`, `${prefix}-r2`, `${prefix}-r3`] as const;
  const [r1, r2, r3] = routers;
  const dc = `${prefix}-dc`;
  const namespaces = [site, ...routers, dc];
  const processes = namespaceProcesses();
  let destroyed = false;
  const unregisterExitCleanup = onProcessExit(() => {
    processes.killAll();
    for (const ns of namespaces) removeNamespaceSync(ns);
  });
  const ip = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);
  const link = async (a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string) => {
    await ip(a, 'link', 'add', 'name', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b);
    await ip(a, 'addr', 'add', aAddr, 'dev', aIf);
    await ip(b, 'addr', 'add', bAddr, 'dev', bIf);
    await ip(a, 'link', 'set', aIf, 'up');
    await ip(b, 'link', 'set', bIf, 'up');
  };
  const routeToDc = (ns: string, via: string) => ip(ns, 'route', 'replace', DC_NET, 'via', via);

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await processes.stopAll();
    for (const ns of namespaces) await removeNamespace(ns);
    unregisterExitCleanup();
  };

  try {
    for (const ns of namespaces) {
      await run(['ip', 'netns', 'add', ns]);
      await ip(ns, 'link', 'set', 'lo', 'up');
      // Answers without the kernel's ICMP rate limit (1 a second per peer after a burst of 6):
      // real routers limit theirs, which the runbook explains; here it would make tests flaky.
      await run(inNetns(ns, ['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']));
    }
    for (const router of routers) await run(inNetns(router, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0']));
    await link(site, 'wan', '198.19.1.2/24', r1, 'site', '198.19.1.1/24');
    await link(r1, 'r2', '198.19.12.1/24', r2, 'r1', '198.19.12.2/24');
    await link(r2, 'r3', '198.19.23.2/24', r3, 'r2', '198.19.23.3/24');
    await link(r1, 'r3', '198.19.13.1/24', r3, 'r1', '198.19.13.3/24');
    await link(r3, 'dc', '198.19.100.1/24', dc, 'wan', '198.19.100.2/24');
    await ip(site, 'route', 'add', 'default', 'via', '198.19.1.1');
    await ip(dc, 'route', 'add', 'default', 'via', '198.19.100.1');
    await routeToDc(r1, '198.19.12.2');
    await routeToDc(r2, '198.19.23.3');
    await ip(r2, 'route', 'add', SITE_NET, 'via', '198.19.12.1');
    await ip(r3, 'route', 'add', SITE_NET, 'via', '198.19.23.2');
  } catch (err) {
    await destroy();
    throw err;
  }

  return {
    prefix,
    site,
    routers,
    dc,
    exec: processes.exec,
    spawn: processes.spawn,
    bridge: processes.bridge,
    useBypass: (enabled) => routeToDc(r1, enabled ? '198.19.13.3' : '198.19.12.2').then(() => undefined),
    blackhole: async (index, enabled) => {
      const ruleset = enabled
        ? `table inet ${NFT_TABLE} {\n  chain pre {\n    type filter hook prerouting priority -300; policy accept;\n    ip saddr ${SITE_NET} drop\n  }\n}\n`
        : `table inet ${NFT_TABLE} {}\ndelete table inet ${NFT_TABLE}\n`;
      await run(inNetns(routers[index - 1]!, ['nft', '-f', '-']), { input: ruleset });
    },
    loop: (enabled) => routeToDc(r2, enabled ? '198.19.12.1' : '198.19.23.3').then(() => undefined),
    destroy,
  };
}
