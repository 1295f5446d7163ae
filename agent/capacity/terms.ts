import type { Gauge, Registry } from 'prom-client';
import { registeredGauge } from '../../lib/metrics/registered.js';
import type { ComponentFactory } from '../component.js';
import type { LinkConfig } from '../config/schema.js';

export const LINK_THRESHOLDS = ['recommend', 'forecast', 'unused'] as const;

/**
 * A link's provisioned capacity and commercial terms as gauges (docs/metrics.md, "Agent: link terms"),
 * so capacity rules and dashboards read them instead of hard-coding them: a contract change is a
 * config edit. Looked up before being created because the agent keeps its registry across reloads.
 */
export class LinkTermsMetrics {
  readonly info: Gauge<'link' | 'device' | 'interface'>;
  readonly capacity: Gauge<'link'>;
  readonly step: Gauge<'link'>;
  readonly stepOneOffCost: Gauge<'link'>;
  readonly stepAnnualCost: Gauge<'link'>;
  readonly stepLeadTime: Gauge<'link'>;
  readonly threshold: Gauge<'link' | 'threshold'>;

  constructor(registry: Registry) {
    const gauge = <L extends string>(spec: Parameters<typeof registeredGauge<L>>[1]) => registeredGauge(registry, spec);
    this.info = gauge({
      name: 'linkmon_link_info',
      help: 'Always 1: the SNMP interface (device, interface) carries the link; a link may have several.',
      labelNames: ['link', 'device', 'interface'] as const,
    });
    this.capacity = gauge({
      name: 'linkmon_link_capacity_bytes',
      help: 'Provisioned capacity of the link, bytes per second (config links[].capacity / 8).',
      labelNames: ['link'] as const,
    });
    this.step = gauge({
      name: 'linkmon_link_step_bytes',
      help: 'Capacity added or removed by one contract step, bytes per second.',
      labelNames: ['link'] as const,
    });
    this.stepOneOffCost = gauge({
      name: 'linkmon_link_step_one_off_cost_gbp',
      help: 'One-off cost of adding one step, pounds sterling.',
      labelNames: ['link'] as const,
    });
    this.stepAnnualCost = gauge({
      name: 'linkmon_link_step_annual_cost_gbp',
      help: 'Yearly cost of one step, pounds sterling.',
      labelNames: ['link'] as const,
    });
    this.stepLeadTime = gauge({
      name: 'linkmon_link_step_lead_time_seconds',
      help: 'Time from ordering a step to it being usable.',
      labelNames: ['link'] as const,
    });
    this.threshold = gauge({ name: 'linkmon_link_threshold_ratio', help: 'Capacity-planning thresholds as a share of capacity: recommend (30-day busy-hour p95), forecast (8-week trend), unused (p95 with one step less).', labelNames: [
      'link',
      'threshold',
    ] as const });
  }

  /** Replaces every series with the given links' terms. */
  publish(links: readonly LinkConfig[]): void {
    for (const gauge of [this.info, this.capacity, this.step, this.stepOneOffCost, this.stepAnnualCost, this.stepLeadTime, this.threshold]) gauge.reset();
    for (const link of links) {
      const labels = { link: link.name };
      for (const ref of link.interfaces) this.info.set({ ...labels, device: ref.device, interface: ref.interface }, 1);
      this.capacity.set(labels, link.capacity / 8);
      this.step.set(labels, link.step.size / 8);
      this.stepOneOffCost.set(labels, link.step.one_off_cost_gbp);
      this.stepAnnualCost.set(labels, link.step.annual_cost_gbp);
      this.stepLeadTime.set(labels, link.step.lead_time);
      for (const threshold of LINK_THRESHOLDS) this.threshold.set({ ...labels, threshold }, link.thresholds[threshold]);
    }
  }
}

/** Publishes `links:` as metrics when the config is applied (and clears them when a reload removes the section). */
export const linkTermsComponent: ComponentFactory = ({ config, registry }) => {
  const links = config.links ?? [];
  const alreadyExported = registry.getSingleMetric('linkmon_link_info') !== undefined;
  if (links.length === 0 && !alreadyExported) return undefined;
  const metrics = new LinkTermsMetrics(registry);
  return {
    start: () => metrics.publish(links),
    stop: async () => undefined,
  };
};
