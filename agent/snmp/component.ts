import type { Registry } from 'prom-client';
import type { AgentComponent, ComponentFactory } from '../component.js';
import type { SnmpDeviceConfig } from '../config/schema.js';
import { SnmpMetrics } from './metrics.js';
import { DevicePoller, newDeviceState, type DeviceState } from './poller.js';

/** What outlives one config: poll state (baselines) per device identity, and the series created per device. */
interface RegistryState {
  devices: Map<string, DeviceState>;
  series: Map<string, Set<string>>;
}
const registryStates = new WeakMap<Registry, RegistryState>();

/**
 * The SNMP poller component: one DevicePoller per `snmp.devices` entry. A reload that keeps a
 * device unchanged (same name, address, port, version, interfaces) keeps its counter baselines,
 * so no traffic is lost or counted twice across the reload; removed devices and interfaces lose their series.
 */
export const snmpComponent: ComponentFactory = ({ config, registry, log }) => {
  const devices = config.snmp?.devices ?? [];
  let state = registryStates.get(registry);
  if (!state) registryStates.set(registry, (state = { devices: new Map(), series: new Map() }));
  if (devices.length === 0 && state.series.size === 0) return undefined;
  const metrics = new SnmpMetrics(registry);
  syncSeries(metrics, state.series, devices);
  const kept = new Map<string, DeviceState>();
  const pollers = devices.map((device, index) => {
    const key = deviceIdentity(device);
    const deviceState = state.devices.get(key) ?? newDeviceState();
    kept.set(key, deviceState);
    return new DevicePoller(device, `snmp.devices[${index}]`, metrics, deviceState, log);
  });
  state.devices = kept;
  if (pollers.length === 0) return undefined;
  const component: AgentComponent = {
    start: () => pollers.forEach((poller) => poller.start()),
    stop: async () => {
      await Promise.all(pollers.map((poller) => poller.stop()));
    },
  };
  return component;
};

function deviceIdentity(device: SnmpDeviceConfig): string {
  return JSON.stringify([device.name, device.address, device.port, device.version, device.v3?.user, device.interfaces]);
}

/** Zeroes the series of new devices and interfaces and removes those no longer configured. */
function syncSeries(metrics: SnmpMetrics, series: Map<string, Set<string>>, devices: readonly SnmpDeviceConfig[]): void {
  const wanted = new Map(devices.map((d) => [d.name, new Set(d.interfaces.map((i) => i.name))]));
  for (const [device, interfaces] of series) {
    const next = wanted.get(device);
    for (const name of interfaces) if (!next?.has(name)) metrics.removeInterface(device, name);
    if (!next) metrics.removeDevice(device);
  }
  for (const [device, interfaces] of wanted) {
    const existing = series.get(device);
    if (!existing) metrics.addDevice(device);
    for (const name of interfaces) if (!existing?.has(name)) metrics.addInterface(device, name);
  }
  series.clear();
  for (const [device, interfaces] of wanted) series.set(device, interfaces);
}
