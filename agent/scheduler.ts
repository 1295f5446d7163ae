import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { describeError } from '../lib/error-code.js';
import type { IntervalKind } from '../lib/kinds.js';
import type { TargetConfig } from './config/schema.js';
import { attemptsPerCycle } from './kinds.js';
import { JitterEstimator } from './stats/jitter.js';

import type { IntervalModule, ModuleOf, ProbeResult, Prober, TargetLabels } from './probes/types.js';
import type { AgentMetrics } from './metrics.js';

/** A target, its module and its kind's probe: one attempt every interval / attemptsPerCycle seconds. */
export interface TargetPlan {
  target: TargetConfig;
  module: IntervalModule;
  labels: TargetLabels;
  /** One attempt; may reject only on a prober bug. */
  probe(signal: AbortSignal): Promise<ProbeResult>;
}

/**
 * The plan of a target whose module is of kind `kind`, or undefined when no prober of that kind is
 * given. Generic over the kind so the module and its prober are checked as a pair.
 */
export function planTarget<K extends IntervalKind>(
  probers: { [P in IntervalKind]?: Prober<P> },
  kind: K,
  module: ModuleOf<K>,
  target: TargetConfig,
  labels: TargetLabels,
): TargetPlan | undefined {
  const prober = probers[kind];
  if (!prober) return undefined;
  return { target, module, labels, probe: (signal) => prober.probe({ target, module, labels, signal }) };
}

interface DueAttempt {
  state: TargetState;
  dueAt: number;
  period: number;
  index: number;
}

/** What the status page and readiness need to know about a target. */
export interface TargetState {
  plan: TargetPlan;
  attempts: number;
  failures: number;
  cyclesCompleted: number;
  lastResult?: ProbeResult;
  lastSuccessAt?: Date;
}

export interface SchedulerDeps {
  metrics: AgentMetrics;
  log: Logger;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

/**
 * How long stop() waits for attempts to settle after aborting them. Every prober destroys its
 * sockets on abort, so they settle at once; the bound keeps a prober bug from holding SIGTERM
 * past the agent's 5 s shutdown bound.
 */
export const STOP_GRACE_MS = 1000;

/** Attempts due within one slot of this grid start together: one event-loop wake-up for many targets. */
const COALESCE_GRID_MS = 50;

/**
 * When to fire an attempt due at `dueAt`: the next point of a grid shared by all targets, so the
 * process wakes at most 20 times a second however many targets it probes (each wake-up costs
 * ~0.1 ms of CPU, which dominated the agent's CPU at 50 targets). The grid is never coarser than
 * half a target's period, so fast probes are not bunched; the schedule itself stays drift-free.
 */
export function coalescedFireTime(dueAt: number, periodMs: number): number {
  const grid = Math.min(COALESCE_GRID_MS, periodMs / 2);
  return Math.ceil(dueAt / grid) * grid;
}

/**
 * Runs every target's probes in the background on a drift-free schedule: attempt k of a target
 * starts at start + offset + k * period, whatever earlier attempts are doing, so one slow reply
 * never delays the next echo (smokeping-style). The random offset keeps sites out of lockstep.
 */
export class ProbeScheduler {
  private readonly states = new Map<string, TargetState>();
  /** Attempts waiting for each coalesced fire time: one timer per grid point, not one per attempt. */
  private readonly slots = new Map<number, { timer: NodeJS.Timeout; due: DueAttempt[] }>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly jitter = new Map<string, JitterEstimator>();
  /** performance.now() at which each target's current cycle began. */
  private readonly cycleStart = new Map<string, number>();

  constructor(
    plans: readonly TargetPlan[],
    private readonly deps: SchedulerDeps,
  ) {
    // Each attempt in flight listens for the abort through its deadline (probes/deadline.ts): many at once is expected.
    setMaxListeners(0, this.abort.signal);
    for (const plan of plans) this.states.set(plan.target.name, { plan, attempts: 0, failures: 0, cyclesCompleted: 0 });
  }

  start(): void {
    const random = this.deps.random ?? Math.random;
    const origin = performance.now();
    for (const state of this.states.values()) {
      const period = (state.plan.module.interval * 1000) / attemptsPerCycle(state.plan.module);
      this.scheduleAttempt(state, origin + random() * period, period, 0);
    }
  }

  /** Stops scheduling and aborts attempts in flight; resolves when they have all settled, or after STOP_GRACE_MS. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const { timer } of this.slots.values()) clearTimeout(timer);
    this.slots.clear();
    let grace: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled([...this.inFlight]).then(() => true),
      new Promise<false>((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS, false))),
    ]);
    clearTimeout(grace);
    if (!settled) this.deps.log.error({ attempts: this.inFlight.size, grace_ms: STOP_GRACE_MS }, 'probe attempts still running after the abort (prober bug); stopping without them');
  }

  targetStates(): TargetState[] {
    return [...this.states.values()];
  }

  /** True once every target has completed at least one whole cycle. */
  firstCycleDone(): boolean {
    return [...this.states.values()].every((s) => s.cyclesCompleted > 0);
  }

  private scheduleAttempt(state: TargetState, dueAt: number, period: number, index: number): void {
    if (this.abort.signal.aborted) return;
    const fireAt = coalescedFireTime(dueAt, period);
    const attempt = { state, dueAt, period, index };
    const slot = this.slots.get(fireAt);
    if (slot) {
      slot.due.push(attempt);
      return;
    }
    const timer = setTimeout(() => {
      const due = this.slots.get(fireAt)?.due ?? [];
      this.slots.delete(fireAt);
      for (const next of due) {
        this.scheduleAttempt(next.state, next.dueAt + next.period, next.period, next.index + 1);
        this.runAttempt(next.state, next.index, next.dueAt);
      }
    }, Math.max(0, fireAt - performance.now()));
    this.slots.set(fireAt, { timer, due: [attempt] });
  }

  private runAttempt(state: TargetState, index: number, dueAt: number): void {
    const { plan } = state;
    const perCycle = attemptsPerCycle(plan.module);
    if (index % perCycle === 0) this.cycleStart.set(plan.target.name, dueAt);
    const cycleStartedAt = this.cycleStart.get(plan.target.name) ?? dueAt;
    const endsCycle = index % perCycle === perCycle - 1;
    state.attempts += 1;
    // Counted when it starts (docs/metrics.md): an attempt stuck in flight already weighs on the loss ratio.
    this.deps.metrics.attemptStarted(plan.labels);
    const startedAt = performance.now();
    // One promise per attempt (no async wrapper, no finally): this runs for every echo.
    const settled = (result: ProbeResult): void => {
      this.inFlight.delete(attempt);
      if (this.abort.signal.aborted) return;
      this.record(state, result, startedAt);
      if (endsCycle) {
        state.cyclesCompleted += 1;
        this.deps.metrics.recordCycle(plan.labels, (performance.now() - cycleStartedAt) / 1000);
      }
    };
    const attempt: Promise<void> = startProbe(plan, this.abort.signal).then(settled, (err: unknown) => settled(this.proberThrew(plan, err)));
    this.inFlight.add(attempt);
  }

  /** A prober that throws has a bug; the agent logs it, counts it and carries on. */
  private proberThrew(plan: TargetPlan, err: unknown): ProbeResult {
    this.deps.metrics.errors.inc({ class: 'probe_exception' });
    this.deps.log.error({ err, target: plan.target.name }, 'prober threw; recorded as a failed attempt');
    return { ok: false, reason: 'error', detail: describeError(err) };
  }

  private record(state: TargetState, result: ProbeResult, startedAt: number): void {
    const { plan } = state;
    const now = new Date();
    let jitter: number | undefined;
    if (result.ok) {
      let estimator = this.jitter.get(plan.target.name);
      if (!estimator) this.jitter.set(plan.target.name, (estimator = new JitterEstimator()));
      jitter = estimator.update(result.durationSeconds);
      state.lastSuccessAt = now;
    } else {
      state.failures += 1;
      if (this.deps.log.isLevelEnabled('debug')) {
        // When it started and how long it took: a dead target must fail at its timeout, on schedule.
        const elapsedMs = performance.now() - startedAt;
        const started = now.getTime() - elapsedMs;
        this.deps.log.debug({ target: plan.target.name, reason: result.reason, detail: result.detail, started_ms: Math.round(started), elapsed_ms: Number(elapsedMs.toFixed(3)) }, 'probe failed');
      }
    }
    state.lastResult = result;
    this.deps.metrics.recordAttempt(plan.labels, result, jitter, now.getTime() / 1000);
  }
}

/** The prober's promise; a synchronous throw becomes a rejection. */
function startProbe(plan: TargetPlan, signal: AbortSignal): Promise<ProbeResult> {
  try {
    return plan.probe(signal);
  } catch (err) {
    return Promise.reject(err);
  }
}
