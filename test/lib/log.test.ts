import { describe, expect, it } from 'vitest';
import { logfmtLine } from '../../lib/log.js';

describe('--log.format logfmt', () => {
  it('writes ts, level and msg first, quotes what needs quoting and nests as JSON', () => {
    expect(
      logfmtLine({ level: 40, time: 1_796_292_537_235, service: 'linkmon', msg: 'throughput test failed', target: 'dc', reason: 'timeout', detail: 'no "reply"', ports: { http: 9480 }, empty: '' }),
    ).toBe('ts=2026-12-03T10:08:57.235Z level=warn msg="throughput test failed" service=linkmon target=dc reason=timeout detail="no \\"reply\\"" ports="{\\"http\\":9480}" empty=""\n');
  });
});
