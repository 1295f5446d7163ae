import { reasonFromError } from '../probes/reasons.js';

/**
 * Why an SNMP poll failed: a closed list so it can be the `reason` label of
 * linkmon_snmp_poll_failures_total. Derived from error classes and codes, never from message text.
 */
export const SNMP_FAILURE_REASONS = ['timeout', 'refused', 'unreachable', 'dns', 'auth', 'no_such_interface', 'network', 'error'] as const;
export type SnmpFailureReason = (typeof SNMP_FAILURE_REASONS)[number];

/** A failed SNMP operation. `detail` is for logs: it never contains a community or password. */
export class SnmpPollError extends Error {
  constructor(
    readonly reason: SnmpFailureReason,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'SnmpPollError';
  }
}

/** net-snmp's ResponseInvalidCode values this module tells apart. */
const RESPONSE_INVALID = { couldNotDecrypt: 4, authFailure: 5, notInTimeWindow: 14 } as const;
/** SNMP error-status values that mean "not allowed": noAccess(6), authorizationError(16). */
const ACCESS_DENIED_STATUS = new Set([6, 16]);
/** The report texts net-snmp uses for usmStats* reports (fixed strings, safe to log). */
const USM_REPORT_TEXTS = new Set([
  'Unsupported Security Level',
  'Not In Time Window',
  'Unknown User Name',
  'Unknown Engine ID',
  'Wrong Digest (incorrect password, community or key)',
  'Decryption Error',
]);

/**
 * Maps an error from net-snmp or the socket under it to a reason and a log-safe detail.
 * net-snmp messages may quote the community (ECommunityNoMatch), so only fixed texts are used.
 */
export function classifySnmpError(err: unknown, request: { timeoutSeconds: number; retries: number }): SnmpPollError {
  if (err instanceof SnmpPollError) return err;
  const e = (err ?? {}) as { name?: unknown; code?: unknown; status?: unknown; message?: unknown };
  if (e.name === 'RequestTimedOutError') {
    const tries = request.retries + 1;
    return new SnmpPollError(
      'timeout',
      `no response within ${request.timeoutSeconds}s (${tries} ${tries === 1 ? 'try' : 'tries'}): device down or unreachable, or a wrong v2c community or v3 privacy password (agents drop those silently)`,
    );
  }
  if (e.name === 'ResponseInvalidError') {
    if (e.code === RESPONSE_INVALID.authFailure) {
      const text = typeof e.message === 'string' && USM_REPORT_TEXTS.has(e.message) ? e.message : 'authentication failure';
      return new SnmpPollError('auth', `SNMPv3 request rejected by the device: ${text}`);
    }
    if (e.code === RESPONSE_INVALID.couldNotDecrypt) return new SnmpPollError('auth', 'could not decrypt the response: wrong SNMPv3 privacy password or protocol');
    if (e.code === RESPONSE_INVALID.notInTimeWindow) return new SnmpPollError('auth', 'SNMPv3 response outside the time window (device restarted?)');
    return new SnmpPollError('error', `invalid response from the device (net-snmp code ${typeof e.code === 'number' ? e.code : '?'})`);
  }
  if (e.name === 'RequestFailedError') {
    const status = typeof e.status === 'number' ? e.status : 0;
    if (ACCESS_DENIED_STATUS.has(status)) return new SnmpPollError('auth', `device denied access (SNMP error-status ${status})`);
    return new SnmpPollError('error', `device answered with SNMP error-status ${status}`);
  }
  if (typeof e.code === 'string') {
    const probeReason: string = reasonFromError(err);
    const reason = (SNMP_FAILURE_REASONS as readonly string[]).includes(probeReason) ? (probeReason as SnmpFailureReason) : 'network';
    if (reason === 'refused') return new SnmpPollError(reason, 'ICMP port unreachable: no SNMP agent listening on that port');
    return new SnmpPollError(reason, `socket error ${e.code}`);
  }
  return new SnmpPollError('error', `unexpected error (${typeof e.name === 'string' ? e.name : typeof err})`);
}
