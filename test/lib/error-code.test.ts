import { describe, expect, it } from 'vitest';
import { describeError, errorCode } from '../../lib/error-code.js';

const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('error codes', () => {
  it('looks through err.cause (undici and fetch wrap socket errors)', () => {
    expect(errorCode(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }))).toBe('ECONNREFUSED');
    expect(errorCode(new Error('no code'))).toBeUndefined();
    expect(errorCode('a string')).toBeUndefined();
  });

  it('describes an error with its code once', () => {
    expect(describeError(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'))).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(describeError(withCode('UND_ERR_SOCKET', 'other side closed'))).toBe('UND_ERR_SOCKET: other side closed');
    expect(describeError('plain')).toBe('plain');
  });
});
