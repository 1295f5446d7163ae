import { Counter, Gauge, type Registry } from 'prom-client';
import type { TargetLabels } from '../types.js';
import type { DnsMessage } from './wire.js';

export const DNS_SECTIONS = ['answer', 'authority', 'additional'] as const;

/** The DNS kind's own per-target series (docs/metrics.md); the generic ones come from AgentMetrics. */
export class DnsMetrics {
  private readonly rcode: Gauge<string>;
  private readonly records: Gauge<string>;
  private readonly tcpFallbacks: Counter<string>;

  constructor(registry: Registry, perTarget: readonly string[]) {
    const registers = [registry];
    this.rcode = new Gauge({ name: 'linkmon_dns_response_rcode', help: 'Response code (RCODE) of the most recent DNS response: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED...; -1 when the attempt got none.', labelNames: perTarget, registers });
    this.records = new Gauge({ name: 'linkmon_dns_records', help: 'Records in each section of the most recent DNS response (0 when the attempt got none).', labelNames: [...perTarget, 'section'], registers });
    this.tcpFallbacks = new Counter({ name: 'linkmon_dns_tcp_fallbacks_total', help: 'UDP answers that came back truncated, so the query was repeated over TCP.', labelNames: perTarget, registers });
  }

  addTarget(labels: TargetLabels): void {
    this.recordResponse(labels, undefined);
    this.tcpFallbacks.inc(labels, 0);
  }

  removeTarget(labels: TargetLabels): void {
    this.rcode.remove(labels);
    for (const section of DNS_SECTIONS) this.records.remove({ ...labels, section });
    this.tcpFallbacks.remove(labels);
  }

  recordResponse(labels: TargetLabels, response: DnsMessage | undefined): void {
    this.rcode.set(labels, response ? response.rcode : -1);
    this.records.set({ ...labels, section: 'answer' }, response?.answers.length ?? 0);
    this.records.set({ ...labels, section: 'authority' }, response?.authority.length ?? 0);
    this.records.set({ ...labels, section: 'additional' }, response?.additional.length ?? 0);
  }

  countTcpFallback(labels: TargetLabels): void {
    this.tcpFallbacks.inc(labels);
  }
}
