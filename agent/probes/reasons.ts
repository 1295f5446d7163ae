import { errorCode } from '../../lib/error-code.js';
import type { FailureReason, ProbeFailure } from './types.js';

/**
 * Maps Node and undici error codes to the closed list of failure reasons. The code is the only
 * input: messages vary between versions and locales.
 */
const REASON_BY_CODE: Record<string, FailureReason> = {
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  ENODATA: 'dns',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  // The peer closed before sending the whole body it announced.
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'reset',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  CERT_NOT_YET_VALID: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'timeout',
  EPERM: 'network',
  EACCES: 'network',
  EADDRNOTAVAIL: 'network',
};

/**
 * A probe step's failure (its reason already derived from an error code) handed through a library
 * that wants an Error, e.g. undici's connector: reasonFromError gives back the step's reason.
 */
export class ProbeFailureError extends Error {
  constructor(readonly failure: ProbeFailure) {
    super(failure.detail);
    this.name = 'ProbeFailureError';
  }
}

export function reasonFromError(err: unknown): FailureReason {
  const carried = carriedFailure(err);
  if (carried) return carried.reason;
  const code = errorCode(err);
  if (code === undefined) return isTimeoutAbort(err) ? 'timeout' : 'error';
  if (REASON_BY_CODE[code]) return REASON_BY_CODE[code];
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'tls';
  return 'network';
}

/** The ProbeFailureError in `err` or its cause chain (undici wraps some errors). */
function carriedFailure(err: unknown): ProbeFailure | undefined {
  for (let at = err, depth = 0; typeof at === 'object' && at !== null && depth < 5; at = (at as { cause?: unknown }).cause, depth += 1) {
    if (at instanceof ProbeFailureError) return at.failure;
  }
  return undefined;
}

function isTimeoutAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError';
}
