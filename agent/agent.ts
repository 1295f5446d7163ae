import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentComponent, ComponentTargetStatus } from './component.js';
import { COMPONENT_FACTORIES } from './components.js';
import { INTERVAL_KINDS, isIntervalKind, type IntervalKind, type ModuleKind } from '../lib/kinds.js';
import type { AgentConfig } from './config/schema.js';
import { PROBERS } from './probes/registry.js';
import type { Prober, ProberAvailability } from './probes/types.js';
import { planTarget, ProbeScheduler, type TargetPlan, type TargetState } from './scheduler.js';
import { AgentMetrics, extraLabelNames, targetLabels } from './metrics.js';
import { FastRegistry } from '../lib/metrics/fast-registry.js';
import { registerProcessMetrics } from '../lib/metrics/process-metrics.js';
import type { KindMetrics, TargetLabels } from './probes/types.js';

interface MetricsGeneration {
  registry: Registry;
  metrics: AgentMetrics;
  kindMetrics: Map<ModuleKind, KindMetrics>;
  /** The label values series were created with, per target name, so a reload can remove them. */
  series: Map<string, { labels: TargetLabels; kind: ModuleKind }>;
  signature: string;
}

/**
 * The running agent: one config at a time, its metrics registry, probe scheduler and components.
 * A reload builds the next scheduler before stopping nothing but the old one, and keeps the
 * registry (and so every counter) unless the label set changed.
 */
export class Agent {
  private generation?: MetricsGeneration;
  private scheduler?: ProbeScheduler;
  private components: AgentComponent[] = [];
  private readonly availability = new Map<ModuleKind, ProberAvailability>();
  private currentConfig?: AgentConfig;

  constructor(
    private readonly log: Logger,
    private readonly probers: { [K in IntervalKind]?: Prober<K> } = PROBERS,
  ) {}

  get config(): AgentConfig | undefined {
    return this.currentConfig;
  }

  get registry(): Registry | undefined {
    return this.generation?.registry;
  }

  get metrics(): AgentMetrics | undefined {
    return this.generation?.metrics;
  }

  targetStates(): TargetState[] {
    return this.scheduler?.targetStates() ?? [];
  }

  /** Targets the components run on their own clock (throughput tests), for the status page. */
  componentTargetStatus(): ComponentTargetStatus[] {
    return this.components.flatMap((component) => component.targetStatus?.() ?? []);
  }

  proberAvailability(): ReadonlyMap<ModuleKind, ProberAvailability> {
    return this.availability;
  }

  /** Config loaded and every target has finished one probe cycle. */
  isReady(): boolean {
    return this.currentConfig !== undefined && (this.scheduler?.firstCycleDone() ?? false);
  }

  /** Applies a validated config: first load or reload. */
  async apply(config: AgentConfig): Promise<void> {
    await this.stopRunning();
    const generation = this.metricsFor(config);
    await this.startProbers(config, generation.metrics);
    const plans = this.plan(config);
    this.syncSeries(generation, plans);
    this.scheduler = new ProbeScheduler(plans, { metrics: generation.metrics, log: this.log });
    this.scheduler.start();
    this.components = COMPONENT_FACTORIES.map((build) => build({ config, registry: generation.registry, log: this.log })).filter(
      (c): c is AgentComponent => c !== undefined,
    );
    for (const component of this.components) await component.start();
    this.currentConfig = config;
    generation.metrics.configReloadSuccessful.set(1);
    generation.metrics.configReloadTimestamp.set(Date.now() / 1000);
    this.log.info({ site: config.site.id, targets: config.targets.length, interval_probes: plans.length, components: this.components.length }, 'config applied');
  }

  /** Records a rejected reload; the running config stays in force. */
  rejectReload(): void {
    this.generation?.metrics.configReloadSuccessful.set(0);
    this.generation?.metrics.errors.inc({ class: 'config_reload' });
  }

  async stop(): Promise<void> {
    await this.stopRunning();
    await Promise.allSettled(Object.values(this.probers).map((p) => p?.stop?.()));
  }

  private async stopRunning(): Promise<void> {
    await this.scheduler?.stop();
    this.scheduler = undefined;
    await Promise.allSettled(this.components.map((c) => c.stop()));
    this.components = [];
  }

  private metricsFor(config: AgentConfig): MetricsGeneration {
    const labelNames = extraLabelNames(config.targets);
    const signature = JSON.stringify([config.site.id, labelNames]);
    if (this.generation?.signature === signature) return this.generation;
    if (this.generation) this.log.warn('site id or target label names changed: metrics registry rebuilt, counters restart from zero');
    const registry = new FastRegistry();
    registry.setDefaultLabels({ site: config.site.id });
    registerProcessMetrics(registry);
    const metrics = new AgentMetrics(registry, labelNames);
    const kindMetrics = new Map<ModuleKind, KindMetrics>();
    const perTarget = ['target', 'kind', ...labelNames];
    for (const kind of INTERVAL_KINDS) {
      const created = this.probers[kind]?.createMetrics?.(registry, perTarget);
      if (created) kindMetrics.set(kind, created);
    }
    this.generation = { registry, metrics, kindMetrics, series: new Map(), signature };
    return this.generation;
  }

  /** Starts the probers this config uses (once per process) and exports their availability. */
  private async startProbers(config: AgentConfig, metrics: AgentMetrics): Promise<void> {
    const kinds = new Set(Object.values(config.modules).map((m) => m.kind).filter(isIntervalKind));
    for (const kind of kinds) {
      const prober = this.probers[kind];
      if (!prober) continue;
      if (!this.availability.has(kind)) {
        const availability = prober.start ? await prober.start() : { available: true as const };
        this.availability.set(kind, availability);
        if (availability.available) {
          this.log.info({ kind, ...availability.facts }, `${kind} prober ready`);
        } else {
          metrics.errors.inc({ class: 'prober_unavailable' });
          this.log.error({ kind, why: availability.why }, `${kind} probes are unavailable and will not run; all other probes continue`);
        }
      }
      metrics.proberAvailable.set({ kind }, this.availability.get(kind)?.available ? 1 : 0);
    }
  }

  private plan(config: AgentConfig): TargetPlan[] {
    const plans: TargetPlan[] = [];
    for (const target of config.targets) {
      const module = config.modules[target.module];
      // Cron kinds (throughput) run as components; see components.ts.
      if (!module || module.kind === 'throughput' || !this.availability.get(module.kind)?.available) continue;
      const plan = planTarget(this.probers, module.kind, module, target, targetLabels(target, module.kind));
      if (plan) plans.push(plan);
    }
    return plans;
  }

  /** Creates series for new targets at zero and removes those of targets that are gone. */
  private syncSeries(generation: MetricsGeneration, plans: readonly TargetPlan[]): void {
    const wanted = new Map(plans.map((p) => [p.target.name, { labels: p.labels, kind: p.module.kind }]));
    for (const [name, old] of generation.series) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next.labels) === JSON.stringify(old.labels)) continue;
      generation.metrics.removeTarget(old.labels);
      generation.kindMetrics.get(old.kind)?.removeTarget(old.labels);
      generation.series.delete(name);
    }
    for (const [name, next] of wanted) {
      if (generation.series.has(name)) continue;
      generation.metrics.addTarget(next.labels);
      generation.kindMetrics.get(next.kind)?.addTarget(next.labels);
      generation.series.set(name, next);
    }
  }
}
