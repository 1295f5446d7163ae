import { describe, expect, it } from 'vitest';
import { reasonFromError } from '../../../agent/probes/reasons.js';

const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('failure reasons come from error codes', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ETIMEDOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['ECONNRESET', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['EWHATEVER', 'network'],
  ])('%s → %s', (code, reason) => expect(reasonFromError(withCode(code))).toBe(reason));

  it('looks through err.cause (undici wraps socket errors)', () => {
    const wrapped = new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') });
    expect(reasonFromError(wrapped)).toBe('refused');
  });

  it('ignores message text: a message mentioning a timeout without a code is an error', () => {
    expect(reasonFromError(new Error('connect ETIMEDOUT 10.0.0.1:443'))).toBe('error');
  });

  it('treats an AbortSignal.timeout abort as a timeout', () => {
    expect(reasonFromError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('timeout');
  });
});
