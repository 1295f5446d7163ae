import type { FamilyChoice } from '../config/network-fields.js';
import type { AttemptDeadline } from './deadline.js';
import type { NameResolver, ResolvedAddress } from './resolver.js';
import type { ProbeFailure } from './types.js';

/**
 * The address a probe goes to, in the family the module chose (config/network-fields.ts), through
 * the agent's resolver and within the attempt's deadline: an IP address as given (the config
 * checked its family); a name resolved in the preferred family, else (with fallback, while the
 * attempt has time left) in the other, one address, as blackbox_exporter does. A failure is
 * reason `dns`, naming both families when both were tried.
 */
export async function resolveTarget(resolver: NameResolver, host: string, choice: FamilyChoice, deadline: AttemptDeadline): Promise<ResolvedAddress | ProbeFailure> {
  const preferred = await resolver.resolve(host, choice.preferred, deadline);
  if (!('reason' in preferred) || !choice.fallback || deadline.signal.aborted) return preferred;
  const other = choice.preferred === 4 ? 6 : 4;
  const fallback = await resolver.resolve(host, other, deadline);
  if (!('reason' in fallback)) return fallback;
  return { ...preferred, detail: `${preferred.detail} (IPv${choice.preferred}); ${fallback.detail} (IPv${other})` };
}
