/**
 * One trace towards a target, hop by hop (docs/path-tracing.md): every probe of TTL n is sent at
 * once, their answers awaited up to the timeout, then TTL n + 1, until the destination answers, a
 * router says it is unreachable, a routing loop shows, or max_hops is reached. Hop by hop rather
 * than all TTLs at once: every TTL beyond the destination would reach it, and its rate limit on
 * ICMP errors (Linux: 6 at once, then 1 a second) would then hide at which TTL it first answered.
 */

/** What came back for one probe. */
export interface ProbeAnswer {
  /** Address of the router (time_exceeded, unreachable) or of the destination (reached). */
  from: string;
  kind: 'time_exceeded' | 'reached' | 'unreachable';
  rttSeconds: number;
}

export interface Hop {
  ttl: number;
  sent: number;
  answers: ProbeAnswer[];
}

/** Why a trace ended without reaching the destination: a closed list (a metric label). */
export const TRACE_FAILURE_REASONS = ['unreached', 'unreachable', 'loop', 'dns', 'network', 'unavailable', 'error'] as const;
export type TraceFailureReason = (typeof TRACE_FAILURE_REASONS)[number];

export type TraceOutcome = { reached: true; hops: number } | { reached: false; reason: TraceFailureReason; detail: string };

export interface Trace {
  hops: Hop[];
  outcome: TraceOutcome;
}

export interface TraceSettings {
  maxHops: number;
  probes: number;
  timeoutSeconds: number;
}

/** Sends the probes of one TTL and resolves with one entry per probe: its answer, or undefined when none came in time. */
export type HopProber = (ttl: number, probes: number, timeoutSeconds: number) => Promise<(ProbeAnswer | undefined)[]>;

/** Thrown by a HopProber when a probe cannot be sent; the trace ends with this reason. */
export class ProbeSendError extends Error {
  constructor(
    readonly reason: TraceFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ProbeSendError';
  }
}

export async function traceRoute(probeHop: HopProber, settings: TraceSettings, signal: AbortSignal): Promise<Trace> {
  const hops: Hop[] = [];
  for (let ttl = 1; ttl <= settings.maxHops; ttl++) {
    if (signal.aborted) return { hops, outcome: { reached: false, reason: 'error', detail: 'trace aborted (agent stopping or reloading)' } };
    let results: (ProbeAnswer | undefined)[];
    try {
      results = await probeHop(ttl, settings.probes, settings.timeoutSeconds);
    } catch (err) {
      const reason = err instanceof ProbeSendError ? err.reason : 'error';
      return { hops, outcome: { reached: false, reason, detail: `TTL ${ttl}: ${err instanceof Error ? err.message : String(err)}` } };
    }
    const answers = results.filter((a): a is ProbeAnswer => a !== undefined);
    hops.push({ ttl, sent: results.length, answers });
    if (answers.some((a) => a.kind === 'reached')) return { hops, outcome: { reached: true, hops: ttl } };
    const refusal = answers.find((a) => a.kind === 'unreachable');
    if (refusal) return { hops, outcome: { reached: false, reason: 'unreachable', detail: `hop ${ttl} (${refusal.from}) answered that the destination is unreachable` } };
    const loop = loopIn(hops);
    if (loop) return { hops, outcome: { reached: false, reason: 'loop', detail: `routing loop: ${loop.address} answered at hops ${loop.first} and ${loop.again}` } };
  }
  const last = lastRespondingHop(hops);
  const beyond = last === 0 ? 'no hop answered' : `the last answer came from hop ${last} (${hopAddress(hops[last - 1]!) ?? ''})`;
  return { hops, outcome: { reached: false, reason: 'unreached', detail: `no answer from the destination within ${settings.maxHops} hops; ${beyond}` } };
}

/** The address that answered most often at a hop (the first of equals), or undefined when none did. */
export function hopAddress(hop: Hop): string | undefined {
  const counts = new Map<string, number>();
  for (const answer of hop.answers) counts.set(answer.from, (counts.get(answer.from) ?? 0) + 1);
  let best: string | undefined;
  for (const [address, count] of counts) if (best === undefined || count > counts.get(best)!) best = address;
  return best;
}

/** The highest TTL from which anything answered (router or destination); 0 when nothing did. */
export function lastRespondingHop(hops: readonly Hop[]): number {
  for (let i = hops.length - 1; i >= 0; i--) if (hops[i]!.answers.length > 0) return hops[i]!.ttl;
  return 0;
}

/**
 * A router that answers at two hops that are not neighbours: the probes went round in a loop.
 * (The same address at two neighbouring hops happens with devices that do not decrement the TTL.)
 */
function loopIn(hops: readonly Hop[]): { address: string; first: number; again: number } | undefined {
  const current = hops.at(-1)!;
  for (const answer of current.answers) {
    if (answer.kind !== 'time_exceeded') continue;
    const earlier = hops.find((hop) => hop.ttl < current.ttl - 1 && hop.answers.some((a) => a.from === answer.from));
    if (earlier) return { address: answer.from, first: earlier.ttl, again: current.ttl };
  }
  return undefined;
}

/**
 * Whether the path differs from the previous trace's: a hop that answered both times from
 * different addresses, or a different number of hops to the destination. A hop that answered only
 * once (a lost probe, an outage beyond it) is not a change.
 */
export function pathChanged(previous: Trace, current: Trace): boolean {
  if (previous.outcome.reached && current.outcome.reached && previous.outcome.hops !== current.outcome.hops) return true;
  const shared = Math.min(previous.hops.length, current.hops.length);
  for (let i = 0; i < shared; i++) {
    const before = hopAddress(previous.hops[i]!);
    const now = hopAddress(current.hops[i]!);
    if (before !== undefined && now !== undefined && before !== now) return true;
  }
  return false;
}
