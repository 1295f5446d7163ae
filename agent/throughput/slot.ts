import { createHash } from 'node:crypto';

/**
 * Seconds after each cron tick at which this site starts its tests: a hash of the site id mapped
 * uniformly onto [0, spread), in whole milliseconds. The same site always gets the same slot, so
 * the 14 sites spread out over the window instead of all hitting the responder at the tick.
 */
export function slotOffsetSeconds(siteId: string, spreadSeconds: number): number {
  if (spreadSeconds <= 0) return 0;
  const fraction = createHash('sha256').update(siteId).digest().readUInt32BE(0) / 2 ** 32;
  return Math.floor(fraction * spreadSeconds * 1000) / 1000;
}
