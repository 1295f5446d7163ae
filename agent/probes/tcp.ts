import { familyChoice } from '../config/network-fields.js';
import { AttemptDeadline } from './deadline.js';
import { systemResolver, type NameResolver } from './resolver.js';
import { socketOptionsOf } from './socket-options.js';
import { resolveTarget } from './target-address.js';
import { connectWithin } from './tcp-connect.js';
import type { ProbeContext, ProbeResult, Prober } from './types.js';

/**
 * TCP connect probe: resolves the host in the module's address family and connects within the
 * module's timeout (name resolution is part of the attempt), from its source address and with its
 * DSCP on the SYN. The duration is the handshake's round-trip time as the kernel measured it
 * (tcp-connect.ts), so a busy event loop cannot inflate it.
 */
export async function probeTcp({ target, module, signal }: ProbeContext<'tcp'>, resolver: NameResolver = systemResolver): Promise<ProbeResult> {
  const host = target.host ?? '';
  const port = target.port ?? module.port ?? 0;
  const deadline = new AttemptDeadline(module.timeout, signal);
  try {
    const resolved = await resolveTarget(resolver, host, familyChoice(module), deadline);
    if ('reason' in resolved) return resolved;
    const ipProtocol = resolved.family;
    const connected = await connectWithin(resolved.address, port, deadline, `${host}:${port}`, socketOptionsOf(module));
    if ('reason' in connected) return { ...connected, ipProtocol };
    connected.socket.destroy();
    return { ok: true, durationSeconds: connected.connectSeconds, ipProtocol };
  } finally {
    deadline.clear();
  }
}

export const tcpProber: Prober<'tcp'> = { probe: (ctx) => probeTcp(ctx) };
