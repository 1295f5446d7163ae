/** SNMPv2-MIB sysUpTime.0: hundredths of a second since the agent (re)started; going backwards means a reboot. */
export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';

const IF_ENTRY = '1.3.6.1.2.1.2.2.1';
const IF_X_ENTRY = '1.3.6.1.2.1.31.1.1.1';

/** IF-MIB columns the poller reads; append `.<ifIndex>` for an instance. */
export const IF_COLUMNS = {
  ifOperStatus: `${IF_ENTRY}.8`,
  ifInDiscards: `${IF_ENTRY}.13`,
  ifInErrors: `${IF_ENTRY}.14`,
  ifOutDiscards: `${IF_ENTRY}.19`,
  ifOutErrors: `${IF_ENTRY}.20`,
  ifName: `${IF_X_ENTRY}.1`,
  ifHCInOctets: `${IF_X_ENTRY}.6`,
  ifHCOutOctets: `${IF_X_ENTRY}.10`,
  ifHighSpeed: `${IF_X_ENTRY}.15`,
  ifAlias: `${IF_X_ENTRY}.18`,
  ifCounterDiscontinuityTime: `${IF_X_ENTRY}.19`,
} as const;

export type IfColumn = keyof typeof IF_COLUMNS;

/** The cumulative counters turned into Prometheus counters by their delta between polls. */
export const COUNTER_COLUMNS = ['ifHCInOctets', 'ifHCOutOctets', 'ifInErrors', 'ifOutErrors', 'ifInDiscards', 'ifOutDiscards'] as const;
export type CounterColumn = (typeof COUNTER_COLUMNS)[number];

/** Read for every selected interface at every poll. */
export const POLLED_COLUMNS = [...COUNTER_COLUMNS, 'ifHighSpeed', 'ifOperStatus', 'ifCounterDiscontinuityTime'] as const satisfies readonly IfColumn[];

/** ifOperStatus up(1); everything else (down, testing, dormant, notPresent, lowerLayerDown...) is not up. */
export const IF_OPER_STATUS_UP = 1;
