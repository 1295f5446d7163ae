import type { ModuleKind } from '../config/schema.js';
import { httpProber } from './http.js';
import { icmpProber } from './icmp.js';
import { tcpProber } from './tcp.js';
import { throughputProber } from './throughput.js';
import type { Prober } from './types.js';
import { udpProber } from './udp.js';

/** Every module kind has exactly one prober; a kind added to the schema without one fails to compile. */
export const PROBERS = {
  icmp: icmpProber,
  tcp: tcpProber,
  http: httpProber,
  throughput: throughputProber,
  udp: udpProber,
} satisfies { [K in ModuleKind]: Prober<K> };
