import { AttemptDeadline } from './deadline.js';
import { systemResolver, type NameResolver } from './resolver.js';
import { connectWithin } from './tcp-connect.js';
import type { ProbeContext, ProbeResult, Prober } from './types.js';

/**
 * TCP connect probe: resolves the host and connects within the module's timeout (name resolution
 * is part of the attempt). The duration is the handshake's round-trip time as the kernel measured
 * it (tcp-connect.ts), so a busy event loop cannot inflate it.
 */
export async function probeTcp({ target, module, signal }: ProbeContext<'tcp'>, resolver: NameResolver = systemResolver): Promise<ProbeResult> {
  const host = target.host ?? '';
  const port = target.port ?? module.port ?? 0;
  const deadline = new AttemptDeadline(module.timeout, signal);
  try {
    const resolved = await resolver.resolve(host, 0, deadline);
    if ('reason' in resolved) return resolved;
    const connected = await connectWithin(resolved.address, port, deadline, `${host}:${port}`);
    if ('reason' in connected) return connected;
    connected.socket.destroy();
    return { ok: true, durationSeconds: connected.connectSeconds };
  } finally {
    deadline.clear();
  }
}

export const tcpProber: Prober<'tcp'> = { probe: (ctx) => probeTcp(ctx) };
