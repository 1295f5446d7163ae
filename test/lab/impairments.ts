// Commands and rulesets for the wan router's rate limits (tc tbf) and random drop / blackhole
// (nftables). Pure functions: lab.ts runs what they return inside the wan namespace.
import { siteSubnet } from './addresses.js';

export type Direction = 'site_to_dc' | 'dc_to_site';
export const DIRECTIONS: readonly Direction[] = ['site_to_dc', 'dc_to_site'];

export interface RateSpec {
  mbit: number;
  /** tbf bucket; default max(16 KiB, 5 ms at the rate). */
  burstBytes?: number;
  /** tbf queue length expressed as time; default 50 ms. */
  latencyMs?: number;
}

/**
 * Where a rate limit sits on the wan router. Egress qdiscs shape directly; a site's upstream and
 * the dc's downstream have no egress of their own on the router (site_to_dc leaves by the shared
 * `dc` interface), so they are shaped on an ifb that the link's ingress is redirected to.
 *   site_to_dc, site i  -> ingress of site<i> via ifb `ifbs<i>` (the site's access uplink)
 *   site_to_dc, shared  -> egress of `dc` (the HSL towards CAID)
 *   dc_to_site, site i  -> egress of `site<i>` (the site's access downlink)
 *   dc_to_site, shared  -> ingress of `dc` via ifb `ifbdc` (the HSL from CAID)
 */
export function rateInterface(direction: Direction, site?: number): { device: string; ingressOf?: string } {
  if (direction === 'site_to_dc') return site === undefined ? { device: 'dc' } : { device: `ifbs${site}`, ingressOf: `site${site}` };
  return site === undefined ? { device: 'ifbdc', ingressOf: 'dc' } : { device: `site${site}` };
}

export function tbfArgs(rate: RateSpec): string[] {
  const bytesPerSecond = (rate.mbit * 1e6) / 8;
  const burst = rate.burstBytes ?? Math.max(16 * 1024, Math.round(bytesPerSecond * 0.005));
  return ['tbf', 'rate', `${Math.round(rate.mbit * 1e6)}bit`, 'burst', String(burst), 'latency', `${rate.latencyMs ?? 50}ms`];
}

export type Protocol = 'icmp' | 'tcp' | 'udp';

export interface DropRule {
  direction: Direction;
  site?: number;
  protocol?: Protocol;
  /** Only packets to (site_to_dc) or from (dc_to_site) this dc address. */
  dcAddress?: string;
  /** 0..1 */
  ratio: number;
}

export const NFT_TABLE = 'lmlab';
/** Drop ratios are applied in steps of 1/DROP_SCALE (nftables numgen). */
export const DROP_SCALE = 10_000;

/** Identifies a drop rule by its scope (unique: setDrop keeps one rule per scope); also the rule's nft comment. */
export function dropRuleKey(rule: Omit<DropRule, 'ratio'>): string {
  return [`drop ${rule.direction}`, `site=${rule.site ?? '*'}`, `protocol=${rule.protocol ?? '*'}`, `dc=${rule.dcAddress ?? '*'}`].join(' ');
}

/** Packets dropped so far per drop rule, keyed by dropRuleKey(), from `nft -j list table inet lmlab`. */
export function parseDropCounters(nftJson: string): Map<string, number> {
  const items = (JSON.parse(nftJson) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[] }).nftables;
  const counts = new Map<string, number>();
  for (const { rule } of items) {
    const packets = rule?.expr.find((e) => e.counter)?.counter?.packets;
    if (rule?.comment?.startsWith('drop ') && packets !== undefined) counts.set(rule.comment, packets);
  }
  return counts;
}

/**
 * The whole nftables table for the router, replaced atomically on every change. Rules match on
 * the interface a packet finally leaves by, so a packet that passes the forward hook twice
 * (into the delay line's TUN and out again) is judged once. Several matching drop rules drop
 * independently (e.g. shared 10% and site 2% give 1 - 0.9 * 0.98). Each drop rule counts what it
 * drops and carries its dropRuleKey() as comment; replacing the table restarts the counters at 0.
 */
export function renderNftRuleset(drops: DropRule[], blackholed: string[]): string {
  const rules = [
    ...(blackholed.length > 0 ? ['ip daddr @blackhole counter drop'] : []),
    ...drops
      .filter((d) => d.ratio > 0)
      .map((d) => {
        const match = [
          d.direction === 'site_to_dc' ? 'oifname "dc"' : d.site === undefined ? 'oifname "site*"' : `oifname "site${d.site}"`,
          ...(d.direction === 'site_to_dc' && d.site !== undefined ? [`ip saddr ${siteSubnet(d.site)}`] : []),
          ...(d.dcAddress ? [`ip ${d.direction === 'site_to_dc' ? 'daddr' : 'saddr'} ${d.dcAddress}`] : []),
          ...(d.protocol ? [`meta l4proto ${d.protocol}`] : []),
        ];
        // numgen yields 0..SCALE-1, and nft rejects `< SCALE` as out of range: ratio 1 drops unconditionally.
        const threshold = Math.round(d.ratio * DROP_SCALE);
        const random = threshold >= DROP_SCALE ? [] : [`numgen random mod ${DROP_SCALE} < ${threshold}`];
        return [...match, ...random, 'counter', 'drop', `comment "${dropRuleKey(d)}"`].join(' ');
      }),
  ];
  return [
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    '  set blackhole {',
    '    type ipv4_addr',
    ...(blackholed.length > 0 ? [`    elements = { ${blackholed.join(', ')} }`] : []),
    '  }',
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}
