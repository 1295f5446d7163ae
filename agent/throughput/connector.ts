import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { familyChoice, type NetworkSettings } from '../config/network-fields.js';
import { AttemptDeadline } from '../probes/deadline.js';
import { ProbeFailureError } from '../probes/reasons.js';
import { systemResolver, type AddressFamily } from '../probes/resolver.js';
import { socketOptionsOf } from '../probes/socket-options.js';
import { resolveTarget } from '../probes/target-address.js';
import { connectWithin } from '../probes/tcp-connect.js';
import { secureWithin, type TlsClientSettings } from '../probes/tls-connect.js';

export interface ConnectorSettings {
  /** The module's address family, source address, interface and DSCP. */
  network: NetworkSettings;
  tls: TlsClientSettings;
  /** Name resolution, connect and TLS handshake of one connection, together. */
  timeoutSeconds: number;
  /** The transfer's own abort: a stopped transfer stops connecting at once. */
  signal: AbortSignal;
  /** The family each connection uses, once its address is known (linkmon_probe_ip_protocol). */
  onFamily?: (family: AddressFamily) => void;
}

/**
 * undici's connect for a throughput test's connections, made the way the probes make theirs: the
 * name through the agent's resolver in the module's family, the TCP connection from its source
 * address and interface with its DSCP set before the SYN (tcp-connect.ts; undici's own connector
 * can bind a source address but set neither), then TLS for https; all within one deadline per
 * connection. A failure reaches undici as a ProbeFailureError, so the transfer's reason is the
 * step's own (dns, timeout, refused, network...).
 */
export function moduleConnector(settings: ConnectorSettings): buildConnector.connector {
  return (options, callback) => {
    const deadline = new AttemptDeadline(settings.timeoutSeconds, settings.signal);
    connect(options, settings, deadline).then(
      (socket) => {
        deadline.clear();
        callback(null, socket);
      },
      (err: unknown) => {
        deadline.clear();
        callback(err instanceof Error ? err : new Error(String(err)), null);
      },
    );
  };
}

async function connect(options: buildConnector.Options, settings: ConnectorSettings, deadline: AttemptDeadline): Promise<Socket> {
  const https = options.protocol === 'https:';
  const hostname = options.hostname.replace(/^\[|\]$/g, '');
  const port = Number(options.port) || (https ? 443 : 80);
  const resolved = await resolveTarget(systemResolver, hostname, familyChoice(settings.network), deadline);
  if ('reason' in resolved) throw new ProbeFailureError(resolved);
  settings.onFamily?.(resolved.family);
  const connected = await connectWithin(resolved.address, port, deadline, `${hostname}:${port}`, socketOptionsOf(settings.network));
  if ('reason' in connected) throw new ProbeFailureError(connected);
  if (!https) return connected.socket;
  const secured = await secureWithin(connected.socket, options.servername ?? hostname, settings.tls, deadline);
  if ('reason' in secured) throw new ProbeFailureError(secured);
  return secured.socket;
}
