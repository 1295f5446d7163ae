import { z } from 'zod';

const UNIT_BYTES = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB|KiB|MiB|GiB)?$/;

/** Parses "500MB", "1GiB", "64kB", "1000" into whole bytes, or undefined if malformed. */
export function parseByteSize(text: string): number | undefined {
  const match = SIZE_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_BYTES | undefined];
  return Math.round(Number(amount) * UNIT_BYTES[unit ?? 'B']);
}

/** A zod type for byte sizes written as a whole number of bytes or "500MB", "1GiB"; parses to bytes. */
export function byteSize(limits: { min?: number; max?: number } = {}) {
  return z.union([z.number(), z.string()]).transform((input, ctx) => {
    const bytes = typeof input === 'number' ? input : parseByteSize(input);
    if (bytes === undefined || !Number.isSafeInteger(bytes)) {
      ctx.addIssue({ code: 'custom', message: `expected a size like 1000000, "500MB" or "1GiB", got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    if (limits.min !== undefined && bytes < limits.min) {
      ctx.addIssue({ code: 'custom', message: `expected at least ${limits.min} bytes, got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    if (limits.max !== undefined && bytes > limits.max) {
      ctx.addIssue({ code: 'custom', message: `expected at most ${limits.max} bytes, got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    return bytes;
  });
}
