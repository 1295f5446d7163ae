import type { IntervalKind } from '../../lib/kinds.js';
import { dnsProber } from './dns/prober.js';
import { httpProber } from './http.js';
import { icmpProber } from './icmp/prober.js';
import { tcpProber } from './tcp.js';
import type { Prober } from './types.js';
import { udpProber } from './udp/prober.js';

/** Every interval kind has exactly one prober; a kind added to lib/kinds.ts without one fails to compile. */
export const PROBERS: { [K in IntervalKind]: Prober<K> } = {
  icmp: icmpProber,
  tcp: tcpProber,
  http: httpProber,
  udp: udpProber,
  dns: dnsProber,
};
