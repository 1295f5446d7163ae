import { agentRuleGroups } from './agent.js';
import { capacityRuleGroups } from './capacity.js';
import type { AlertsConfig } from './config.js';
import { latencyRuleGroups } from './latency.js';
import { lossRuleGroups } from './loss.js';
import { pathRuleGroups } from './path.js';
import { reachabilityRuleGroups } from './reachability.js';
import { sloRuleGroups } from './slo.js';
import { snmpRuleGroups } from './snmp.js';
import { throughputRuleGroups } from './throughput.js';
import { tlsRuleGroups } from './tls.js';
import type { RuleGroup } from './types.js';

/**
 * The mixin's areas in a fixed order (the generated files must be deterministic), each written to
 * alerts/generated/<area>.yml. Areas read recording rules of earlier ones: loss and slo use
 * reachability's outage mask, capacity uses loss and latency.
 */
export function ruleAreas(config: AlertsConfig): Array<{ area: string; groups: RuleGroup[] }> {
  return [
    { area: 'agent', groups: agentRuleGroups(config) },
    { area: 'reachability', groups: reachabilityRuleGroups(config) },
    { area: 'loss', groups: lossRuleGroups(config) },
    { area: 'latency', groups: latencyRuleGroups(config) },
    { area: 'slo', groups: sloRuleGroups(config) },
    { area: 'throughput', groups: throughputRuleGroups(config) },
    { area: 'tls', groups: tlsRuleGroups(config) },
    { area: 'path', groups: pathRuleGroups(config) },
    { area: 'snmp', groups: snmpRuleGroups(config) },
    { area: 'capacity', groups: capacityRuleGroups(config) },
  ];
}

export function allRuleGroups(config: AlertsConfig): RuleGroup[] {
  return ruleAreas(config).flatMap((a) => a.groups);
}
