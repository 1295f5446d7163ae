import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentComponent, ComponentFactory, ComponentTargetStatus } from './component.js';
import { COMPONENTS, componentUsedBy, type ComponentRegistration } from './components.js';
import { INTERVAL_KINDS, isIntervalKind, type IntervalKind, type ModuleKind } from '../lib/kinds.js';
import type { AgentConfig } from './config/schema.js';
import { PROBERS, type ProberRegistry } from './probes/registry.js';
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
  /** Label names of per-target series: target, kind, then the targets' own. */
  perTarget: readonly string[];
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
  /** The probers of the kinds configs have used so far, imported from the registry on first use. */
  private readonly probers: { [K in IntervalKind]?: Prober<K> } = {};
  private readonly componentFactories = new Map<ComponentRegistration, ComponentFactory>();

  constructor(
    private readonly log: Logger,
    private readonly proberRegistry: ProberRegistry = PROBERS,
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
    const kinds = new Set(Object.values(config.modules).map((m) => m.kind).filter(isIntervalKind));
    const loadErrors = await this.loadProbers(kinds);
    const generation = this.metricsFor(config);
    await this.startProbers(kinds, generation.metrics, loadErrors);
    const plans = this.plan(config);
    this.syncSeries(generation, plans);
    this.scheduler = new ProbeScheduler(plans, { metrics: generation.metrics, log: this.log });
    this.scheduler.start();
    this.components = await this.buildComponents(config, generation.registry);
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
    if (this.generation?.signature === signature) {
      this.createKindMetrics(this.generation);
      return this.generation;
    }
    if (this.generation) this.log.warn('site id or target label names changed: metrics registry rebuilt, counters restart from zero');
    const registry = new FastRegistry();
    registry.setDefaultLabels({ site: config.site.id });
    registerProcessMetrics(registry);
    const metrics = new AgentMetrics(registry, labelNames);
    this.generation = { registry, metrics, kindMetrics: new Map(), perTarget: ['target', 'kind', ...labelNames], series: new Map(), signature };
    this.createKindMetrics(this.generation);
    return this.generation;
  }

  /** Each loaded prober's own metrics, once per registry (a kind first used by a reload gets them then). */
  private createKindMetrics(generation: MetricsGeneration): void {
    for (const kind of INTERVAL_KINDS) {
      if (generation.kindMetrics.has(kind)) continue;
      const created = this.probers[kind]?.createMetrics?.(generation.registry, generation.perTarget);
      if (created) generation.kindMetrics.set(kind, created);
    }
  }

  /** Imports the probers of `kinds` not loaded yet; returns why any could not be. */
  private async loadProbers(kinds: ReadonlySet<IntervalKind>): Promise<Map<IntervalKind, string>> {
    const errors = new Map<IntervalKind, string>();
    for (const kind of kinds) {
      if (this.probers[kind]) continue;
      const load = this.proberRegistry[kind] as (() => Promise<Prober<IntervalKind>>) | undefined;
      if (!load) continue;
      try {
        (this.probers as Record<IntervalKind, Prober<IntervalKind>>)[kind] = await load();
      } catch (err) {
        errors.set(kind, `could not load the ${kind} prober: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return errors;
  }

  /** Starts the probers of `kinds` (once per process) and exports their availability. */
  private async startProbers(kinds: ReadonlySet<IntervalKind>, metrics: AgentMetrics, loadErrors: ReadonlyMap<IntervalKind, string>): Promise<void> {
    for (const kind of kinds) {
      const prober = this.probers[kind];
      const loadError = loadErrors.get(kind);
      if (!prober && loadError === undefined) continue;
      if (!this.availability.has(kind)) {
        const availability: ProberAvailability = !prober
          ? { available: false, why: loadError! }
          : prober.start
            ? await prober.start()
            : { available: true };
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

  /** Builds the components this config uses, importing each on first use (components.ts). */
  private async buildComponents(config: AgentConfig, registry: Registry): Promise<AgentComponent[]> {
    const built: AgentComponent[] = [];
    for (const registration of COMPONENTS) {
      let factory = this.componentFactories.get(registration);
      if (!factory) {
        if (!componentUsedBy(registration, config)) continue;
        this.componentFactories.set(registration, (factory = await registration.load()));
      }
      const component = factory({ config, registry, log: this.log });
      if (component) built.push(component);
    }
    return built;
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
