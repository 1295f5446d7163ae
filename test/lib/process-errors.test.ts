// Process-level error handling (issue #13): the production handlers log and count, and the test
// setup file (test/support/fail-on-unhandled.ts) fails the test that caused an unhandled error.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { installProcessErrorHandlers, registerProcessErrorMetric } from '../../lib/process-errors.js';
import { capturedLogger, metricValue } from '../responder/support.js';

const KEY = Symbol.for('linkmon.test.unhandled');
const caughtByTestSetup = () => (globalThis as unknown as Record<symbol, unknown[]>)[KEY]!;

describe('process error handlers', () => {
  it('log an unhandled rejection with its stack and role, and count it', async () => {
    const { log, output } = capturedLogger();
    installProcessErrorHandlers(log, 'agent');
    const registry = new Registry();
    registerProcessErrorMetric(registry);
    const before = await metricValue(registry, 'linkmon_unhandled_errors_total', { event: 'unhandled_rejection' });
    void Promise.reject(new Error('a bug in a prober'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await metricValue(registry, 'linkmon_unhandled_errors_total', { event: 'unhandled_rejection' })).toBe(before + 1);
    const line = output().split('\n').find((l) => l.includes('a bug in a prober'));
    expect(line).toContain('"event":"unhandled_rejection"');
    expect(line).toContain('"role":"agent"');
    expect(line).toContain('"stack":"Error: a bug in a prober');
    // The setup file saw it too and would fail this test: take it back, on purpose.
    const seen = caughtByTestSetup().splice(0);
    expect(seen).toHaveLength(1);
  });
});
