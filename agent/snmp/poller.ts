import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { SnmpDeviceConfig } from '../config/schema.js';
import { AttemptDeadline } from '../probes/deadline.js';
import { systemResolver } from '../probes/resolver.js';
import { counterStep, deviceRebooted, type CounterReading } from './counters.js';
import { readCredentials } from './credentials.js';
import { classifySnmpError, SnmpPollError } from './errors.js';
import type { SnmpMetrics } from './metrics.js';
import { COUNTER_COLUMNS, IF_COLUMNS, IF_OPER_STATUS_UP, POLLED_COLUMNS, SYS_UPTIME, type CounterColumn } from './oids.js';
import { columnsToWalk, resolveSelectors, selectorColumn, selectorText, type NameColumn } from './resolve.js';
import { SnmpSession, type SnmpValue } from './session.js';

/** What the poller knows about a device between polls; kept across config reloads while the device is unchanged. */
export interface DeviceState {
  /** sysUpTime at the last successful poll. */
  upTime?: number;
  /** Resolve selectors before the next read (at start, after a reboot, a rename or a vanished interface). */
  mustResolve: boolean;
  interfaces: Map<string, { ifIndex?: number; baseline?: CounterReading }>;
}

export function newDeviceState(): DeviceState {
  return { mustResolve: true, interfaces: new Map() };
}

interface InterfaceSample {
  reading: CounterReading;
  highSpeedMbps?: number;
  operStatus?: number;
}

interface DeviceReading {
  upTime: number;
  samples: Map<string, InterfaceSample>;
  /** Interfaces whose ifIndex no longer has the configured name, or no longer exists. */
  stale: string[];
}

type PollOutcome = { ok: true } | { ok: false; error: SnmpPollError };

const BYTES_PER_MEGABIT = 1e6 / 8;
const NOT_POLLED = 'not polled yet';

/**
 * Polls one device's selected interfaces every `interval`, one poll at a time, and turns its
 * counters into Prometheus counters by their difference between polls. A failing device is a
 * metric and a log line when its state changes; the loop keeps going until stop().
 */
export class DevicePoller {
  private session?: SnmpSession;
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private lastState = NOT_POLLED;
  private lastMoved = '';
  private readonly log: Logger;

  constructor(
    private readonly device: SnmpDeviceConfig,
    /** Config path of the device, e.g. "snmp.devices[0]", for messages about its fields. */
    private readonly at: string,
    private readonly metrics: SnmpMetrics,
    private readonly state: DeviceState,
    log: Logger,
  ) {
    this.log = log.child({ component: 'snmp', device: device.name });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.session?.close();
    await this.loop;
  }

  /** One poll: resolve if needed, read, re-resolve once if the device rebooted or an interface moved, update metrics. */
  async pollOnce(): Promise<PollOutcome> {
    const started = performance.now();
    const device = this.device.name;
    this.metrics.polls.inc({ device });
    let outcome: PollOutcome;
    try {
      outcome = await this.poll();
    } catch (err) {
      outcome = { ok: false, error: classifySnmpError(err, { timeoutSeconds: this.device.timeout, retries: this.device.retries }) };
      // A fresh session next time re-reads the credentials and redoes SNMPv3 engine discovery (engine boots change on reboot).
      this.session?.close();
      this.session = undefined;
    }
    if (this.abort.signal.aborted) return outcome;
    this.metrics.pollDuration.set({ device }, (performance.now() - started) / 1000);
    this.metrics.pollSuccess.set({ device }, outcome.ok ? 1 : 0);
    if (outcome.ok) this.metrics.lastPollSuccess.set({ device }, Date.now() / 1000);
    else this.metrics.pollFailures.inc({ device, reason: outcome.error.reason });
    this.logTransition(outcome);
    return outcome;
  }

  private async run(): Promise<void> {
    const intervalMs = this.device.interval * 1000;
    let next = Date.now();
    while (!this.abort.signal.aborted) {
      try {
        await this.pollOnce();
      } catch (err) {
        this.log.error({ err }, 'SNMP poller bug; polling continues');
      }
      const now = Date.now();
      while (next <= now) next += intervalMs;
      try {
        await sleep(next - now, undefined, { signal: this.abort.signal });
      } catch {
        return; // aborted
      }
    }
  }

  private async poll(): Promise<PollOutcome> {
    // A slow device must not hold the next poll: requests stop once the interval is used up.
    const deadline = Date.now() + this.device.interval * 1000;
    if (!this.session) {
      const credentials = await readCredentials(this.device, this.at);
      if (this.abort.signal.aborted) throw new SnmpPollError('error', 'stopped');
      // The agent's resolver (TTL cache, bounded, within the request's timeout), not a lookup per datagram in net-snmp.
      const lookup = new AttemptDeadline(this.device.timeout * (this.device.retries + 1), this.abort.signal);
      const resolved = await systemResolver.resolve(this.device.address, 0, lookup).finally(() => lookup.clear());
      if ('reason' in resolved) throw new SnmpPollError('dns', resolved.detail);
      this.session = new SnmpSession(credentials, {
        address: resolved.address,
        port: this.device.port,
        timeoutSeconds: this.device.timeout,
        retries: this.device.retries,
      });
    }
    const session = this.session;
    if (this.state.mustResolve) await this.resolve(session);
    let reading = await this.read(session, deadline);
    const rebooted = deviceRebooted(this.state.upTime, reading.upTime);
    if (rebooted || reading.stale.length > 0) {
      const moved = reading.stale.join(',');
      // Logged once per change: an ifIndex that stays missing would otherwise log at every poll.
      if (rebooted || moved !== this.lastMoved) {
        this.log.info({ rebooted, moved: reading.stale }, rebooted ? 'device restarted (sysUpTime went back): resolving interfaces again' : 'interface names changed: resolving again');
      }
      this.lastMoved = moved;
      await this.resolve(session);
      reading = await this.read(session, deadline);
      // Still stale right after resolving: treat as missing now and resolve again next poll.
      if (reading.stale.length > 0) this.state.mustResolve = true;
    }
    this.state.upTime = reading.upTime;
    const missing = this.apply(reading, rebooted);
    if (missing.length === 0) return { ok: true };
    this.state.mustResolve = true;
    const described = missing.map((name) => {
      const entry = this.device.interfaces.find((i) => i.name === name);
      return entry ? `${name} (${selectorText(entry.selector)})` : name;
    });
    return { ok: false, error: new SnmpPollError('no_such_interface', `no interface matches ${described.join(', ')}: renamed, renumbered or removed`) };
  }

  private async resolve(session: SnmpSession): Promise<void> {
    const columns: Partial<Record<NameColumn, Map<number, SnmpValue>>> = {};
    for (const { column, oid } of columnsToWalk(this.device.interfaces)) columns[column] = await session.walkColumn(oid);
    for (const [name, resolution] of resolveSelectors(this.device.interfaces, columns)) {
      const state = this.interfaceState(name);
      if (resolution.ambiguous) this.log.warn({ interface: name, if_indexes: resolution.ambiguous }, 'several interfaces match the selector; using the lowest ifIndex');
      if (state.ifIndex !== resolution.ifIndex && resolution.ifIndex !== undefined) this.log.info({ interface: name, if_index: resolution.ifIndex }, 'interface resolved');
      state.ifIndex = resolution.ifIndex;
    }
    this.state.mustResolve = false;
  }

  private async read(session: SnmpSession, deadline: number): Promise<DeviceReading> {
    const selected = this.device.interfaces.flatMap((entry) => {
      const ifIndex = this.interfaceState(entry.name).ifIndex;
      if (ifIndex === undefined) return [];
      const nameColumn = selectorColumn(entry.selector);
      const columns = nameColumn ? [...POLLED_COLUMNS, nameColumn] : [...POLLED_COLUMNS];
      return [{ entry, ifIndex, columns }];
    });
    const oids = [SYS_UPTIME, ...selected.flatMap(({ ifIndex, columns }) => columns.map((column) => `${IF_COLUMNS[column]}.${ifIndex}`))];
    const values = await session.get(oids, deadline);
    const upTime = values[0];
    if (typeof upTime !== 'number') throw new SnmpPollError('error', 'device did not return sysUpTime.0');
    const reading: DeviceReading = { upTime, samples: new Map(), stale: [] };
    let offset = 1;
    for (const { entry, ifIndex, columns } of selected) {
      const row = new Map(columns.map((column, i) => [column, values[offset + i]]));
      offset += columns.length;
      const counters = {} as Record<CounterColumn, bigint>;
      let complete = true;
      for (const column of COUNTER_COLUMNS) {
        const value = row.get(column);
        if (typeof value === 'number' || typeof value === 'bigint') counters[column] = BigInt(value);
        else complete = false;
      }
      const nameColumn = selectorColumn(entry.selector);
      if (!complete && row.get('ifOperStatus') !== undefined && (nameColumn === undefined || row.get(nameColumn) === entry.selector.value)) {
        throw new SnmpPollError('error', `the device has interface ${entry.name} but not its 64-bit counters (IF-MIB ifXTable ifHCInOctets/ifHCOutOctets)`);
      }
      if (!complete || (nameColumn !== undefined && row.get(nameColumn) !== entry.selector.value)) {
        reading.stale.push(entry.name);
        continue;
      }
      const discontinuityTime = row.get('ifCounterDiscontinuityTime');
      const highSpeed = row.get('ifHighSpeed');
      const operStatus = row.get('ifOperStatus');
      reading.samples.set(entry.name, {
        reading: { ifIndex, discontinuityTime: typeof discontinuityTime === 'number' ? discontinuityTime : 0, counters },
        highSpeedMbps: typeof highSpeed === 'number' ? highSpeed : undefined,
        operStatus: typeof operStatus === 'number' ? operStatus : undefined,
      });
    }
    return reading;
  }

  /** Updates the interface metrics from a reading; returns the configured interfaces that were not found. */
  private apply(reading: DeviceReading, rebooted: boolean): string[] {
    const missing: string[] = [];
    for (const entry of this.device.interfaces) {
      const labels = { device: this.device.name, interface: entry.name };
      const state = this.interfaceState(entry.name);
      const sample = reading.samples.get(entry.name);
      if (!sample) {
        // Counting across a gap of unknown cause could invent traffic: start from a new baseline when it is back.
        state.baseline = undefined;
        this.metrics.resolved.set(labels, 0);
        missing.push(entry.name);
        continue;
      }
      this.metrics.resolved.set(labels, 1);
      if (sample.highSpeedMbps !== undefined) this.metrics.speed.set(labels, sample.highSpeedMbps * BYTES_PER_MEGABIT);
      if (sample.operStatus !== undefined) this.metrics.up.set(labels, sample.operStatus === IF_OPER_STATUS_UP ? 1 : 0);
      const step = counterStep(state.baseline, sample.reading, rebooted);
      if (step.kind === 'increment') {
        const add = (counter: typeof this.metrics.bytes, direction: 'in' | 'out', column: CounterColumn) => {
          const delta = step.deltas[column];
          if (delta > 0n) counter.inc({ ...labels, direction }, Number(delta));
        };
        add(this.metrics.bytes, 'in', 'ifHCInOctets');
        add(this.metrics.bytes, 'out', 'ifHCOutOctets');
        add(this.metrics.errors, 'in', 'ifInErrors');
        add(this.metrics.errors, 'out', 'ifOutErrors');
        add(this.metrics.discards, 'in', 'ifInDiscards');
        add(this.metrics.discards, 'out', 'ifOutDiscards');
      } else if (step.kind === 'discontinuity') {
        this.metrics.discontinuities.inc({ ...labels, cause: step.cause });
        this.log.info({ interface: entry.name, cause: step.cause }, 'counter discontinuity: new baseline, nothing counted for this interval');
      }
      state.baseline = sample.reading;
    }
    return missing;
  }

  private interfaceState(name: string) {
    let state = this.state.interfaces.get(name);
    if (!state) this.state.interfaces.set(name, (state = {}));
    return state;
  }

  /** Logs when the device's state changes, not at every failed poll. */
  private logTransition(outcome: PollOutcome): void {
    const state = outcome.ok ? 'ok' : `${outcome.error.reason}: ${outcome.error.detail}`;
    if (state === this.lastState) return;
    if (outcome.ok) this.log.info(this.lastState === NOT_POLLED ? 'first SNMP poll succeeded' : 'SNMP polling recovered');
    else this.log.warn({ reason: outcome.error.reason, address: this.device.address, port: this.device.port }, `SNMP poll failed: ${outcome.error.detail}`);
    this.lastState = state;
  }
}
