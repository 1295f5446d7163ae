import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSeconds, parseDurationSeconds, TIMER_MAX_MS, timerMs } from '../../lib/units.js';

/** Milliseconds per unit of Prometheus' duration grammar, largest first (the parser's own table, restated). */
const UNIT_MS: Array<[string, bigint]> = [
  ['y', 31_536_000_000n],
  ['w', 604_800_000n],
  ['d', 86_400_000n],
  ['h', 3_600_000n],
  ['m', 60_000n],
  ['s', 1000n],
  ['ms', 1n],
];

/** Any duration the grammar allows: each unit at most once, largest first, amounts from 0 to far beyond 2^53 ms. */
const durationText = fc
  .tuple(...UNIT_MS.map(() => fc.option(fc.oneof(fc.nat({ max: 2000 }), fc.bigInt({ min: 0n, max: 10n ** 20n })), { nil: undefined })))
  .filter((amounts) => amounts.some((a) => a !== undefined))
  .map((amounts) => {
    const parts = amounts.flatMap((amount, i) => (amount === undefined ? [] : [{ text: `${amount}${UNIT_MS[i]![0]}`, ms: BigInt(amount) * UNIT_MS[i]![1] }]));
    return { text: parts.map((p) => p.text).join(''), ms: parts.reduce((sum, p) => sum + p.ms, 0n) };
  });

describe('durations reach timers as whole milliseconds', () => {
  it('for every duration the parser accepts: exact whole milliseconds, within what a timer takes', () => {
    fc.assert(
      fc.property(durationText, ({ text, ms }) => {
        const seconds = parseDurationSeconds(text);
        if (ms > BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(seconds, text).toBeUndefined();
          return;
        }
        expect(seconds, text).toBe(Number(ms) / 1000);
        const delay = timerMs(seconds!);
        expect(Number.isInteger(delay), `${text} → ${delay}`).toBe(true);
        expect(delay).toBe(Math.min(Number(ms), TIMER_MAX_MS));
        // What AbortSignal.timeout, setTimeout and http.Server's timeouts accept without a RangeError or an overflow to 1 ms.
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(TIMER_MAX_MS);
      }),
      { numRuns: 5000 },
    );
  });

  it('exhaustively from 1ms to 300s (every probe timeout the config allows), where seconds × 1000 is often not whole', () => {
    let notWholeTimesThousand = 0;
    for (let ms = 1; ms <= 300_000; ms++) {
      const seconds = parseDurationSeconds(`${ms}ms`)!;
      if (!Number.isInteger(seconds * 1000)) notWholeTimesThousand += 1;
      if (timerMs(seconds) !== ms) expect.fail(`${ms}ms → ${timerMs(seconds)}`);
    }
    expect(notWholeTimesThousand).toBeGreaterThan(0);
  });

  it('formats what it parses back to the same duration', () => {
    fc.assert(
      fc.property(durationText, ({ text }) => {
        const seconds = parseDurationSeconds(text);
        if (seconds === undefined) return;
        expect(parseDurationSeconds(formatSeconds(seconds))).toBe(seconds);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects anything else', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const seconds = parseDurationSeconds(text);
        if (seconds !== undefined) expect(Number.isSafeInteger(Math.round(seconds * 1000))).toBe(true);
      }),
    );
    for (const bad of ['', '1.5s', '-1s', '1s1h', '1ss', 's', '1 s', '99999999999999999y']) expect(parseDurationSeconds(bad), bad).toBeUndefined();
  });
});
