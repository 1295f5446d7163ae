import { z } from 'zod';

const UNIT_BITS_PER_SECOND = { bps: 1, kbps: 1e3, Mbps: 1e6, Gbps: 1e9, Tbps: 1e12 } as const;
const BIT_RATE_PATTERN = /^(\d+(?:\.\d+)?)\s*(bps|kbps|Mbps|Gbps|Tbps)$/;

/** Parses "1Gbps", "500Mbps", "2.5 Gbps" into bits per second, or undefined if malformed. */
export function parseBitRate(text: string): number | undefined {
  const match = BIT_RATE_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_BITS_PER_SECOND];
  return Math.round(Number(amount) * UNIT_BITS_PER_SECOND[unit]);
}

/** A zod type for link speeds written as bits per second (1000000000) or "1Gbps", "500Mbps"; parses to bits per second. */
export function bitRate(limits: { min?: number } = {}) {
  return z.union([z.number(), z.string()]).transform((input, ctx) => {
    const bps = typeof input === 'number' ? input : parseBitRate(input);
    if (bps === undefined || !Number.isSafeInteger(bps)) {
      ctx.addIssue({ code: 'custom', message: `expected bits per second like 1000000000, "1Gbps" or "500Mbps", got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    if (limits.min !== undefined && bps < limits.min) {
      ctx.addIssue({ code: 'custom', message: `expected at least ${limits.min} bits per second, got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    return bps;
  });
}
