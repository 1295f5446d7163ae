import type { Counter, Gauge, Registry } from 'prom-client';
import { registeredCounter, registeredGauge } from '../../lib/metrics/registered.js';
import type { DiscontinuityCause } from './counters.js';
import { SNMP_FAILURE_REASONS } from './errors.js';

const DIRECTIONS = ['in', 'out'] as const;
export const DISCONTINUITY_CAUSES = ['reboot', 'renumbered', 'discontinuity_time', 'counter_decreased'] as const satisfies readonly DiscontinuityCause[];

type InterfaceLabel = 'device' | 'interface';

/**
 * Interface and SNMP poller metrics (docs/metrics.md, "Agent: SNMP interfaces"). The agent keeps its
 * registry across config reloads, so metrics are looked up before they are created and counters
 * carry on; series of devices and interfaces that a reload removed are deleted by removeInterface/removeDevice.
 */
export class SnmpMetrics {
  readonly bytes: Counter<InterfaceLabel | 'direction'>;
  readonly errors: Counter<InterfaceLabel | 'direction'>;
  readonly discards: Counter<InterfaceLabel | 'direction'>;
  readonly discontinuities: Counter<InterfaceLabel | 'cause'>;
  readonly speed: Gauge<InterfaceLabel>;
  readonly up: Gauge<InterfaceLabel>;
  readonly resolved: Gauge<InterfaceLabel>;
  readonly pollSuccess: Gauge<'device'>;
  readonly pollDuration: Gauge<'device'>;
  readonly polls: Counter<'device'>;
  readonly pollFailures: Counter<'device' | 'reason'>;
  readonly lastPollSuccess: Gauge<'device'>;

  constructor(registry: Registry) {
    const counter = <L extends string>(spec: Parameters<typeof registeredCounter<L>>[1]) => registeredCounter(registry, spec);
    const gauge = <L extends string>(spec: Parameters<typeof registeredGauge<L>>[1]) => registeredGauge(registry, spec);
    const perInterface = ['device', 'interface'] as const;
    const perDirection = [...perInterface, 'direction'] as const;
    this.bytes = counter({
      name: 'linkmon_interface_bytes_total',
      help: 'Octets through the interface (IF-MIB ifHCIn/OutOctets), counted as the difference between consecutive polls.',
      labelNames: perDirection,
    });
    this.errors = counter({
      name: 'linkmon_interface_errors_total',
      help: 'Packets with errors (IF-MIB ifIn/OutErrors), counted between consecutive polls.',
      labelNames: perDirection,
    });
    this.discards = counter({
      name: 'linkmon_interface_discards_total',
      help: 'Packets discarded without error, e.g. queue full (IF-MIB ifIn/OutDiscards), counted between consecutive polls.',
      labelNames: perDirection,
    });
    this.discontinuities = counter({
      name: 'linkmon_interface_counter_discontinuities_total',
      help: 'Times the interface counters were re-baselined instead of counted: device reboot, ifIndex renumbered, ifCounterDiscontinuityTime changed, or a counter went backwards.',
      labelNames: [...perInterface, 'cause'] as const,
    });
    this.speed = gauge({
      name: 'linkmon_interface_speed_bytes',
      help: 'Interface speed reported by the device (IF-MIB ifHighSpeed), bytes per second.',
      labelNames: perInterface,
    });
    this.up = gauge({
      name: 'linkmon_interface_up',
      help: 'Whether IF-MIB ifOperStatus was up(1) at the last successful poll.',
      labelNames: perInterface,
    });
    this.resolved = gauge({
      name: 'linkmon_interface_resolved',
      help: 'Whether the configured selector (ifName, ifAlias or ifIndex) matched an interface at the last poll.',
      labelNames: perInterface,
    });
    this.pollSuccess = gauge({
      name: 'linkmon_snmp_poll_success',
      help: 'Whether the last poll of the device succeeded and found every configured interface.',
      labelNames: ['device'] as const,
    });
    this.pollDuration = gauge({
      name: 'linkmon_snmp_poll_duration_seconds',
      help: 'Wall time of the last poll of the device.',
      labelNames: ['device'] as const,
    });
    this.polls = counter({
      name: 'linkmon_snmp_polls_total',
      help: 'Polls of the device started.',
      labelNames: ['device'] as const,
    });
    this.pollFailures = counter({
      name: 'linkmon_snmp_poll_failures_total',
      help: 'Polls of the device that failed, by reason.',
      labelNames: ['device', 'reason'] as const,
    });
    this.lastPollSuccess = gauge({
      name: 'linkmon_snmp_last_poll_success_timestamp_seconds',
      help: 'Time of the last successful poll of the device; 0 until the first.',
      labelNames: ['device'] as const,
    });
  }

  /** Creates a device's series at zero so they exist before its first poll. */
  addDevice(device: string): void {
    this.pollSuccess.set({ device }, 0);
    this.pollDuration.set({ device }, 0);
    this.polls.inc({ device }, 0);
    this.lastPollSuccess.set({ device }, 0);
    for (const reason of SNMP_FAILURE_REASONS) this.pollFailures.inc({ device, reason }, 0);
  }

  removeDevice(device: string): void {
    for (const metric of [this.pollSuccess, this.pollDuration, this.polls, this.lastPollSuccess]) metric.remove({ device });
    for (const reason of SNMP_FAILURE_REASONS) this.pollFailures.remove({ device, reason });
  }

  addInterface(device: string, name: string): void {
    const labels = { device, interface: name };
    for (const direction of DIRECTIONS) {
      for (const metric of [this.bytes, this.errors, this.discards]) metric.inc({ ...labels, direction }, 0);
    }
    for (const cause of DISCONTINUITY_CAUSES) this.discontinuities.inc({ ...labels, cause }, 0);
    this.resolved.set(labels, 0);
  }

  removeInterface(device: string, name: string): void {
    const labels = { device, interface: name };
    for (const direction of DIRECTIONS) {
      for (const metric of [this.bytes, this.errors, this.discards]) metric.remove({ ...labels, direction });
    }
    for (const cause of DISCONTINUITY_CAUSES) this.discontinuities.remove({ ...labels, cause });
    for (const metric of [this.speed, this.up, this.resolved]) metric.remove(labels);
  }
}
