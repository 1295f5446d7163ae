import type { Logger as CronLogger, ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentComponent, ComponentFactory, ComponentTargetStatus } from '../component.js';
import type { AgentConfig, TargetConfig } from '../config/schema.js';
import { runThroughputDirection, type DirectionTestResult } from './run-direction.js';
import type { ModuleOf, TargetLabels } from '../probes/types.js';
import { targetLabels } from '../metrics.js';
import { ThroughputMetrics } from './metrics.js';
import { slotOffsetSeconds } from './slot.js';
import { timerMs } from '../../lib/units.js';
import { nodeCron } from './cron.js';

export interface ThroughputPlan {
  target: TargetConfig;
  module: ModuleOf<'throughput'>;
  labels: TargetLabels;
  /** Delay after each cron tick before this site starts (see slot.ts). */
  offsetSeconds: number;
}

export interface ThroughputSchedulerDeps {
  metrics: ThroughputMetrics;
  log: Logger;
  /** Injected by tests; the real one talks to the responder. */
  runDirection?: typeof runThroughputDirection;
}

/**
 * How late a tick may still start its test. node-cron drops a tick its heartbeat reaches more than
 * 1 s late (its default), which a loaded box does; a capacity test started a few seconds late is
 * still the test the schedule asked for. A tick is never run once the next one is due.
 */
const LATE_TICK_TOLERANCE_MS = 60_000;

/**
 * Runs each throughput target's tests on its cron schedule (node-cron, in the module's time zone),
 * starting each run the site's slot offset after the tick. A run still going at the next tick
 * makes node-cron skip that tick (noOverlap), counted as skipped{reason="overlap"}; runs of
 * different targets take turns, since two tests at once would share the site's link.
 */
export class ThroughputScheduler implements AgentComponent {
  private readonly tasks = new Map<ThroughputPlan, ScheduledTask>();
  /** The last outcome of each direction, per target name, for the status page. */
  private readonly lastOutcomes = new Map<string, Map<DirectionTestResult['direction'], DirectionOutcome>>();
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private turn: Promise<void> = Promise.resolve();
  private readonly runDirection: typeof runThroughputDirection;

  constructor(
    private readonly plans: readonly ThroughputPlan[],
    private readonly deps: ThroughputSchedulerDeps,
  ) {
    this.runDirection = deps.runDirection ?? runThroughputDirection;
  }

  start(): void {
    for (const plan of this.plans) {
      const { target, module, offsetSeconds } = plan;
      const log = this.deps.log.child({ target: target.name });
      const task = nodeCron().createTask(module.schedule, () => this.runScheduled(plan), {
        name: `throughput:${target.name}`,
        timezone: module.timezone,
        noOverlap: true,
        missedExecutionTolerance: LATE_TICK_TOLERANCE_MS,
        logger: cronLogger(log),
      });
      task.on('execution:overlap', () => this.overlapped(plan));
      task.on('execution:missed', (ctx) => log.warn({ tick: ctx.date.toISOString() }, 'throughput test tick missed (event loop blocked)'));
      task.start();
      this.tasks.set(plan, task);
      const [next, after] = task.getNextRuns(2);
      log.info({ schedule: module.schedule, timezone: module.timezone ?? 'local', offset_seconds: offsetSeconds, next_run: next?.toISOString() }, 'throughput tests scheduled');
      const longest = offsetSeconds + module.directions.length * module.max_duration * (1 + module.busy_retries);
      if (next && after && (after.getTime() - next.getTime()) / 1000 < longest) {
        log.warn(
          { module: target.module, period_seconds: (after.getTime() - next.getTime()) / 1000, offset_seconds: offsetSeconds, longest_run_seconds: longest },
          `a run of module "${target.module}" can outlast the time between ticks (directions × max_duration × (1 + busy_retries)); later ticks are then skipped (overlap)`,
        );
      }
    }
  }

  /** Stops the schedule, aborts a running test and resolves once it has wound down. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.tasks.values()].map((task) => task.destroy()));
    this.tasks.clear();
    await Promise.allSettled([...this.running]);
  }

  /** node-cron awaits this promise: while it is pending, the task's later ticks are overlaps. */
  private runScheduled(plan: ThroughputPlan): Promise<void> {
    const run = this.runAfterOffset(plan).catch((err: unknown) => this.deps.log.error({ err, target: plan.target.name }, 'throughput run failed unexpectedly'));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  private async runAfterOffset(plan: ThroughputPlan): Promise<void> {
    const { signal } = this.abort;
    if (plan.offsetSeconds > 0) {
      try {
        await sleep(timerMs(plan.offsetSeconds), undefined, { signal });
      } catch {
        return;
      }
    }
    const mine = this.turn.then(() => (signal.aborted ? undefined : this.runDirections(plan)));
    this.turn = mine.catch(() => undefined);
    await mine;
  }

  private async runDirections(plan: ThroughputPlan): Promise<void> {
    const { metrics } = this.deps;
    for (const direction of plan.module.directions) {
      if (this.abort.signal.aborted) return;
      const result = await this.runDirection(plan.target, plan.module, direction, {
        signal: this.abort.signal,
        onBytes: metrics.bytesCounter(plan.labels, direction),
        onFamily: (family) => metrics.recordFamily(plan.labels, family),
      });
      this.record(plan, result);
    }
  }

  /** Each target with the last outcome of each direction and the start of its next run. */
  targetStatus(): ComponentTargetStatus[] {
    return this.plans.map((plan) => {
      const outcomes = plan.module.directions.flatMap((direction) => {
        const outcome = this.lastOutcomes.get(plan.target.name)?.get(direction);
        return outcome ? [outcome] : [];
      });
      const successes = outcomes.flatMap((o) => (o.ok ? [o.at] : []));
      const next = this.tasks.get(plan)?.getNextRun();
      return {
        target: plan.target.name,
        kind: 'throughput',
        address: plan.target.url ?? '',
        labels: plan.target.labels,
        state: outcomes.length === 0 ? 'pending' : outcomes.every((o) => o.ok) ? 'ok' : 'fail',
        lastResult: outcomes.length === 0 ? 'pending' : outcomes.map((o) => o.text).join('; '),
        ...(successes.length > 0 ? { lastSuccessAt: new Date(Math.max(...successes.map((d) => d.getTime()))) } : {}),
        ...(next ? { nextRunAt: new Date(next.getTime() + plan.offsetSeconds * 1000) } : {}),
      };
    });
  }

  private remember(plan: ThroughputPlan, direction: DirectionTestResult['direction'], ok: boolean, text: string): void {
    let outcomes = this.lastOutcomes.get(plan.target.name);
    if (!outcomes) this.lastOutcomes.set(plan.target.name, (outcomes = new Map()));
    outcomes.set(direction, { ok, text: `${direction} ${text}`, at: new Date() });
  }

  private record(plan: ThroughputPlan, result: DirectionTestResult): void {
    const { metrics } = this.deps;
    const log = this.deps.log.child({ target: plan.target.name, direction: result.direction });
    const common = { total_bytes: result.totalBytes, elapsed_seconds: round(result.elapsedSeconds), busy_answers: result.busyAnswers };
    switch (result.outcome) {
      case 'ok': {
        metrics.recordSuccess(plan.labels, result.direction, result.bytesPerSecond, Date.now() / 1000);
        this.remember(plan, result.direction, true, `${round((result.bytesPerSecond * 8) / 1e6)} Mbit/s`);
        // Without a warm-up (warmup: 0s) there is nothing to exclude; with one, a transfer shorter than it includes TCP slow start.
        const slowStartIncluded = !result.warmupExcluded && plan.module.warmup > 0;
        log.info(
          {
            ...common,
            bytes_per_second: Math.round(result.bytesPerSecond),
            mbit_per_second: round((result.bytesPerSecond * 8) / 1e6),
            measured_seconds: round(result.measuredSeconds),
            warmup_excluded: result.warmupExcluded,
            stopped_by: result.stoppedBy,
          },
          slowStartIncluded
            ? `throughput measured, but a stream ended within the ${plan.module.warmup}s warm-up: the rate includes TCP slow start (raise bytes or duration of module "${plan.target.module}")`
            : 'throughput measured',
        );
        return;
      }
      case 'failed':
        metrics.recordFailure(plan.labels, result.direction, result.reason);
        this.remember(plan, result.direction, false, `failed (${result.reason}: ${result.detail})`);
        log.warn({ ...common, reason: result.reason, detail: result.detail }, 'throughput test failed');
        return;
      case 'busy':
        metrics.recordSkip(plan.labels, result.direction, 'busy');
        this.remember(plan, result.direction, false, 'skipped (responder busy)');
        log.info({ ...common, retry_after_seconds: result.retryAfterSeconds }, 'responder busy (429): throughput test skipped');
        return;
      case 'aborted':
        log.debug(common, 'throughput test aborted by shutdown');
        return;
    }
  }

  private overlapped(plan: ThroughputPlan): void {
    // The status page keeps the last result: the run that caused the overlap is still going.
    for (const direction of plan.module.directions) this.deps.metrics.recordSkip(plan.labels, direction, 'overlap');
    this.deps.log.warn({ target: plan.target.name }, 'throughput run still going at the next tick: this tick is skipped (overlap)');
  }
}

interface DirectionOutcome {
  ok: boolean;
  text: string;
  at: Date;
}

/** node-cron's own messages: its overlap warning duplicates ours, so warnings go to debug. */
function cronLogger(log: Logger): CronLogger {
  return {
    info: (message) => log.debug(message),
    warn: (message) => log.debug(message),
    error: (message, err) => log.error({ err: err ?? message }, 'node-cron error'),
    debug: (message) => log.debug(typeof message === 'string' ? message : { err: message }),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function throughputPlans(config: AgentConfig): ThroughputPlan[] {
  const plans: ThroughputPlan[] = [];
  for (const target of config.targets) {
    const module = config.modules[target.module];
    if (module?.kind !== 'throughput') continue;
    plans.push({ target, module, labels: targetLabels(target, 'throughput'), offsetSeconds: slotOffsetSeconds(config.site.id, module.spread) });
  }
  return plans;
}

/** The agent's component factory: undefined when the config has no throughput targets. */
export const createThroughputScheduler: ComponentFactory = ({ config, registry, log }) => {
  const plans = throughputPlans(config);
  if (plans.length === 0) {
    ThroughputMetrics.existing(registry)?.syncTargets(new Map());
    return undefined;
  }
  const metrics = ThroughputMetrics.forTargets(registry, config.targets);
  metrics.syncTargets(new Map(plans.map((plan) => [plan.target.name, plan.labels])));
  return new ThroughputScheduler(plans, { metrics, log: log.child({ component: 'throughput' }) });
};
