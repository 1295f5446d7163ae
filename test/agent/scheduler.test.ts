import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ModuleOf, Prober, ProbeResult } from '../../agent/probes/types.js';
import { coalescedFireTime, planTarget, ProbeScheduler, type TargetPlan } from '../../agent/scheduler.js';
import { AgentMetrics } from '../../agent/metrics.js';

const silent = pino({ level: 'silent' });

function plan(module: ModuleOf<'icmp'>, prober: Prober<'icmp'>, name = 'gw'): TargetPlan {
  return planTarget({ icmp: prober }, 'icmp', module, { name, module: module.kind, host: '198.18.0.1', labels: {} }, { target: name, kind: module.kind })!;
}

const icmpModule = (packets: number, interval: number, timeout = 1): ModuleOf<'icmp'> => ({ kind: 'icmp', interval, timeout, packets, payload_bytes: 56 });

/** A prober that records when it was called and answers after `delayMs` (fake time). */
function recordingProber(result: ProbeResult, delayMs = 0) {
  const calls: number[] = [];
  const prober: Prober<'icmp'> = {
    probe: async ({ signal }) => {
      calls.push(performance.now());
      if (delayMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return result;
    },
  };
  return { prober, calls };
}

describe('probe scheduler', () => {
  let metrics: AgentMetrics;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    metrics = new AgentMetrics(new Registry(), []);
  });
  afterEach(() => vi.useRealTimers());

  it('spreads the echoes of one interval evenly, starting at the random offset', async () => {
    const { prober, calls } = recordingProber({ ok: true, durationSeconds: 0.001 });
    const start = performance.now();
    const scheduler = new ProbeScheduler([plan(icmpModule(10, 10), prober)], { metrics, log: silent, random: () => 0.5 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10_000);
    await scheduler.stop();
    expect(calls.map((t) => t - start)).toEqual([500, 1500, 2500, 3500, 4500, 5500, 6500, 7500, 8500, 9500]);
  });

  it('starts attempts of different targets due within one 50 ms slot together (one wake-up)', async () => {
    const first = recordingProber({ ok: true, durationSeconds: 0.001 });
    const second = recordingProber({ ok: true, durationSeconds: 0.001 });
    const start = performance.now();
    const offsets = [0.01, 0.03];
    const scheduler = new ProbeScheduler([plan(icmpModule(1, 1), first.prober, 'a'), plan(icmpModule(1, 1), second.prober, 'b')], {
      metrics,
      log: silent,
      random: () => offsets.shift() ?? 0,
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1100);
    await scheduler.stop();
    expect(first.calls.map((t) => t - start)).toEqual([50, 1050]);
    expect(second.calls.map((t) => t - start)).toEqual([50, 1050]);
  });

  it('never coalesces a fast probe into bursts: the grid is at most half its period', () => {
    expect(coalescedFireTime(1001, 1000)).toBe(1050);
    expect(coalescedFireTime(1001, 20)).toBe(1010);
    expect(coalescedFireTime(1000, 20)).toBe(1000);
  });

  it('keeps the schedule when replies are slow (attempts overlap, never drift)', async () => {
    const { prober, calls } = recordingProber({ ok: true, durationSeconds: 0.9 }, 900);
    const start = performance.now();
    const scheduler = new ProbeScheduler([plan(icmpModule(4, 1), prober)], { metrics, log: silent, random: () => 0 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(2000);
    await scheduler.stop();
    expect(calls.map((t) => t - start)).toEqual([0, 250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
  });

  it('completes a cycle after `packets` attempts and then reports ready', async () => {
    const { prober } = recordingProber({ ok: true, durationSeconds: 0.001 });
    const scheduler = new ProbeScheduler([plan(icmpModule(5, 5), prober)], { metrics, log: silent, random: () => 0 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(3999);
    expect(scheduler.firstCycleDone()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(scheduler.firstCycleDone()).toBe(true);
    expect(scheduler.targetStates()[0]).toMatchObject({ attempts: 5, failures: 0, cyclesCompleted: 1 });
    await scheduler.stop();
  });

  it('records failures by reason and keeps probing', async () => {
    const { prober } = recordingProber({ ok: false, reason: 'timeout', detail: 'no reply' });
    const scheduler = new ProbeScheduler([plan(icmpModule(2, 1), prober)], { metrics, log: silent, random: () => 0 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1999);
    await scheduler.stop();
    const failures = await metrics.failures.get();
    expect(failures.values.find((v) => v.labels.reason === 'timeout')?.value).toBe(4);
    expect(scheduler.targetStates()[0]!.lastResult).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('turns a prober that throws into a failed attempt and an error count, and carries on', async () => {
    let calls = 0;
    const prober: Prober<'icmp'> = {
      probe: async () => {
        calls += 1;
        throw new Error('bug in prober');
      },
    };
    const scheduler = new ProbeScheduler([plan(icmpModule(1, 1), prober)], { metrics, log: silent, random: () => 0 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(2999);
    await scheduler.stop();
    expect(calls).toBe(3);
    const errors = await metrics.errors.get();
    expect(errors.values.find((v) => v.labels.class === 'probe_exception')?.value).toBe(3);
    expect(scheduler.targetStates()[0]!.lastResult).toMatchObject({ ok: false, reason: 'error' });
  });

  it('stops scheduling on stop() and passes the abort to attempts in flight', async () => {
    let sawAbort = false;
    const prober: Prober<'icmp'> = {
      probe: ({ signal }) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve({ ok: false, reason: 'error', detail: 'aborted' });
          }),
        ),
    };
    const scheduler = new ProbeScheduler([plan(icmpModule(1, 10, 10), prober)], { metrics, log: silent, random: () => 0 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10);
    await scheduler.stop();
    expect(sawAbort).toBe(true);
    expect(scheduler.targetStates()[0]!.attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scheduler.targetStates()[0]!.attempts).toBe(1);
  });

  it('counts an attempt when it starts (docs/metrics.md): a stuck attempt is in the attempts counter at once', async () => {
    const stuck: Prober<'icmp'> = { probe: () => new Promise<ProbeResult>(() => {}) };
    const scheduler = new ProbeScheduler([plan(icmpModule(1, 1), stuck)], { metrics, log: silent, random: () => 0 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1500);
    const attempts = await metrics.attempts.get();
    expect(attempts.values.find((v) => v.labels.target === 'gw')?.value).toBe(2);
    const stopping = scheduler.stop();
    // A prober that ignores the abort must not hold the agent's shutdown.
    await vi.advanceTimersByTimeAsync(5000);
    await stopping;
  });
});
