import type { SnmpInterfaceConfig } from '../config/schema.js';
import { IF_COLUMNS } from './oids.js';

type Selector = SnmpInterfaceConfig['selector'];
export type NameColumn = 'ifName' | 'ifAlias';

/** The IF-MIB column a selector matches against, or undefined for an ifIndex selector. */
export function selectorColumn(selector: Selector): NameColumn | undefined {
  if (selector.by === 'if_name') return 'ifName';
  if (selector.by === 'if_alias') return 'ifAlias';
  return undefined;
}

export function selectorText(selector: Selector): string {
  return `${selector.by}=${JSON.stringify(selector.value)}`;
}

/** The name columns to walk to resolve these interfaces. */
export function columnsToWalk(interfaces: readonly SnmpInterfaceConfig[]): Array<{ column: NameColumn; oid: string }> {
  const columns = new Set(interfaces.map((i) => selectorColumn(i.selector)).filter((c): c is NameColumn => c !== undefined));
  return [...columns].map((column) => ({ column, oid: IF_COLUMNS[column] }));
}

export interface Resolution {
  /** undefined when nothing matches. */
  ifIndex?: number;
  /** Every matching ifIndex when more than one does; the lowest is used. */
  ambiguous?: number[];
}

/** Finds each selector's ifIndex in walked name columns (index → value). */
export function resolveSelectors(
  interfaces: readonly SnmpInterfaceConfig[],
  columns: Partial<Record<NameColumn, ReadonlyMap<number, unknown>>>,
): Map<string, Resolution> {
  const result = new Map<string, Resolution>();
  for (const entry of interfaces) {
    const column = selectorColumn(entry.selector);
    if (column === undefined) {
      result.set(entry.name, { ifIndex: Number(entry.selector.value) });
      continue;
    }
    const matches = [...(columns[column] ?? new Map<number, unknown>())]
      .filter(([, value]) => value === entry.selector.value)
      .map(([index]) => index)
      .sort((a, b) => a - b);
    result.set(entry.name, matches.length > 1 ? { ifIndex: matches[0], ambiguous: matches } : { ifIndex: matches[0] });
  }
  return result;
}
