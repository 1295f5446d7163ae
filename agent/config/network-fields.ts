import { isIP } from 'node:net';
import { z } from 'zod';

/** RFC 2474/2597/3246/5865/8622 code point names, as routers and QoS policies write them. */
export const DSCP_NAMES = {
  CS0: 0, LE: 1, CS1: 8, AF11: 10, AF12: 12, AF13: 14, CS2: 16, AF21: 18, AF22: 20, AF23: 22,
  CS3: 24, AF31: 26, AF32: 28, AF33: 30, CS4: 32, AF41: 34, AF42: 36, AF43: 38, CS5: 40, VA: 44,
  EF: 46, CS6: 48, CS7: 56,
} as const;

const DSCP_EXPECTED = `expected a DSCP from 0 to 63 or one of ${Object.keys(DSCP_NAMES).join(', ')}`;

/**
 * Where a module's probes leave from, how they are marked and which address family they use, for
 * every kind that sends packets (issue #14). blackbox_exporter's names where it has the setting:
 * `source_ip_address`, `preferred_ip_protocol` (ip4/ip6) and `ip_protocol_fallback`; `dscp` and
 * `source_interface` are linkmon's. The family defaults to ip4 with fallback (blackbox_exporter's
 * default is ip6; the MPS and PSN networks are IPv4): `undefined` means the default, so a module
 * says whether it chose.
 */
export const networkFields = {
  source_ip_address: z
    .string()
    .superRefine((address, ctx) => {
      if (isIP(address) === 0) ctx.addIssue({ code: 'custom', message: `expected an IPv4 or IPv6 address of this host, got "${address}"` });
    })
    .optional(),
  /** Linux SO_BINDTODEVICE: the probes leave by this interface whatever the routing table says. */
  source_interface: z
    .string()
    .superRefine((name, ctx) => {
      if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) ctx.addIssue({ code: 'custom', message: `expected an interface name: 1 to 15 letters, digits, "_", ".", ":" or "-", got "${name}"` });
    })
    .optional(),
  /** DiffServ code point of every packet the probe sends (IP_TOS / IPV6_TCLASS, ECN bits 0). */
  dscp: z
    .union([z.number(), z.string()], { error: DSCP_EXPECTED })
    .transform((value, ctx) => {
      const code = typeof value === 'number' ? value : (DSCP_NAMES as Record<string, number>)[value.toUpperCase()];
      if (code === undefined || !Number.isInteger(code) || code < 0 || code > 63) {
        ctx.addIssue({ code: 'custom', message: `${DSCP_EXPECTED}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return code;
    })
    .optional(),
  preferred_ip_protocol: z.enum(['ip4', 'ip6'], { error: 'expected "ip4" or "ip6"' }).optional(),
  ip_protocol_fallback: z.boolean().optional(),
};

export interface NetworkSettings {
  source_ip_address?: string;
  source_interface?: string;
  dscp?: number;
  preferred_ip_protocol?: 'ip4' | 'ip6';
  ip_protocol_fallback?: boolean;
}

/** Which family a module's probes use: the preferred one, and whether the other will do when a name has no address of it. */
export interface FamilyChoice {
  preferred: 4 | 6;
  fallback: boolean;
}

/** A source address fixes the family (a socket cannot send IPv6 from an IPv4 address); otherwise preferred_ip_protocol (ip4) with fallback (true). */
export function familyChoice(module: NetworkSettings): FamilyChoice {
  const source = module.source_ip_address === undefined ? 0 : isIP(module.source_ip_address);
  if (source === 4 || source === 6) return { preferred: source, fallback: false };
  return { preferred: module.preferred_ip_protocol === 'ip6' ? 6 : 4, fallback: module.ip_protocol_fallback ?? true };
}

/** Why these settings contradict each other (as "field: problem"), or undefined. */
export function networkSettingsProblem(module: NetworkSettings): { field: keyof NetworkSettings; message: string } | undefined {
  const source = module.source_ip_address === undefined ? 0 : isIP(module.source_ip_address);
  if (source === 0 || module.preferred_ip_protocol === undefined) return undefined;
  const wanted = module.preferred_ip_protocol === 'ip6' ? 6 : 4;
  if (source === wanted) return undefined;
  return { field: 'preferred_ip_protocol', message: `source_ip_address ${module.source_ip_address} is IPv${source}, so the probes are IPv${source}: leave preferred_ip_protocol out or set it to ip${source}` };
}

/** Why a target given as an address of one family cannot be probed with these settings, or undefined. */
export function targetFamilyProblem(host: string, module: NetworkSettings): string | undefined {
  const family = isIP(host);
  if (family === 0) return undefined;
  const choice = familyChoice(module);
  if (family === choice.preferred || choice.fallback) return undefined;
  return module.source_ip_address !== undefined
    ? `${host} is IPv${family} but the module's source_ip_address ${module.source_ip_address} is IPv${choice.preferred}`
    : `${host} is IPv${family} but the module allows only ip${choice.preferred} (ip_protocol_fallback: false)`;
}
