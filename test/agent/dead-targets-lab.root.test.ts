// Issue #11 in the network lab: a blackholed TCP and HTTP target (the far host's input dropped by
// nftables), a TLS handshake that never completes, an unreachable resolver and an endless body,
// all probed by one real agent (see dead-targets-scenario.ts). Needs root and the Debian packages
// iproute2, nftables, dnsmasq-base. bench/probe-integrity.ts --mode dead runs the same for 5 minutes.
//
// Timing tolerance: the issue's ±10 % of the timeout, widened only when this run's own timers were
// late by more (the box is shared and CI runs this under load): a timer in this process, ticking
// every 10 ms through the dead phase, measures how late the box let timers fire.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/lab.js';
import { DEAD_TARGETS, runDeadTargets, type DeadTargetsFigures } from './dead-targets-scenario.js';

const CLI = fileURLToPath(new URL('../../cli/linkmon.ts', import.meta.url));
const DEAD_SECONDS = 12;

/** The latest a 10 ms interval timer of this process fired during `work`, in ms. */
async function timerLateness<T>(work: Promise<T>): Promise<{ value: T; lateMs: number }> {
  let lateMs = 0;
  let expected = performance.now() + 10;
  const ticker = setInterval(() => {
    const now = performance.now();
    lateMs = Math.max(lateMs, now - expected);
    expected = now + 10;
  }, 10);
  try {
    return { value: await work, lateMs };
  } finally {
    clearInterval(ticker);
  }
}

describe('dead targets in the network lab (issue #11)', () => {
  let lab: Lab;
  let figures: DeadTargetsFigures;
  let toleranceMs: (timeoutSeconds: number) => number;

  beforeAll(async () => {
    lab = await createLab({ sites: 1, dcAddresses: 4 });
    const run = await timerLateness(
      runDeadTargets(lab, {
        agentCommand: (file) => [process.execPath, '--import', 'tsx', CLI, 'agent', '--config', file],
        healthySeconds: 3,
        deadSeconds: DEAD_SECONDS,
        fdEverySeconds: 2,
        endlessCpu: false,
      }),
    );
    figures = run.value;
    toleranceMs = (timeoutSeconds) => Math.max(0.1 * timeoutSeconds * 1000, 2 * run.lateMs + 10);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it.each(DEAD_TARGETS)('$name: every attempt fails with reason $reason, at the timeout, on schedule', (target) => {
    const failures = figures.failures.filter((f) => f.target === target.name);
    const what = `${target.name}: ${JSON.stringify(failures.map((f) => [f.reason, f.elapsedMs, f.startedMs]))}`;
    expect(failures.length, what).toBeGreaterThanOrEqual(Math.floor(figures.deadSeconds / target.intervalSeconds) - 2);
    for (const failure of failures) expect(failure.reason, what).toBe(target.reason);
    // Attempts started = attempts failed, up to the one in flight at each end of the window.
    const { attempts, failures: failed } = figures.counters[target.name]!;
    expect(Math.abs(attempts - failed), `${what}; counters ${attempts} started, ${failed} failed`).toBeLessThanOrEqual(2);
    const tolerance = toleranceMs(target.timeoutSeconds);
    if (target.reason !== 'body_too_large') {
      for (const failure of failures) {
        expect(failure.elapsedMs, what).toBeGreaterThanOrEqual(target.timeoutSeconds * 1000 - 2);
        expect(failure.elapsedMs, `${what}; tolerance ${tolerance} ms`).toBeLessThanOrEqual(target.timeoutSeconds * 1000 + tolerance);
      }
    }
    for (let i = 1; i < failures.length; i++) {
      const spacing = failures[i]!.startedMs - failures[i - 1]!.startedMs;
      expect(Math.abs(spacing - target.intervalSeconds * 1000), `${what}; tolerance ${tolerance} ms`).toBeLessThanOrEqual(tolerance);
    }
  });

  it('turns linkmon_probe_success to 0 within an interval and a timeout of a target dying', () => {
    for (const target of DEAD_TARGETS.filter((t) => t.dies && t.reason === 'timeout')) {
      const after = figures.successZeroAfterMs[target.name]!;
      expect(after, target.name).toBeLessThanOrEqual((target.intervalSeconds + target.timeoutSeconds) * 1000 + toleranceMs(target.timeoutSeconds));
    }
  });

  it('keeps at most one SYN-SENT socket per attempt in flight, and file descriptors flat', () => {
    // The last samples may see attempts that SIGTERM later aborted, which never reach the log.
    const settled = figures.synSent.filter((s) => s.atMs < figures.synSent.at(-1)!.atMs - 2000);
    for (const sample of settled) expect(sample.synSent, JSON.stringify(sample)).toBeLessThanOrEqual(sample.inFlight);
    expect(Math.max(...settled.map((s) => s.synSent))).toBeGreaterThan(0);
    const counts = figures.fds.map((f) => f.count);
    expect(Math.max(...counts) - Math.min(...counts), JSON.stringify(figures.fds)).toBeLessThanOrEqual(3);
  });

  it('exits 0 within 5 s on SIGTERM with probes stuck in the kernel', () => {
    expect(figures.sigterm.exitCode, JSON.stringify(figures.sigterm)).toBe(0);
    expect(figures.sigterm.ms).toBeLessThan(5000);
  });
});
