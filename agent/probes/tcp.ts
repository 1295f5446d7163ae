import { lookup } from 'node:dns/promises';
import { Socket } from 'node:net';
import { describeError, reasonFromError } from './reasons.js';
import { failure, type ProbeContext, type ProbeResult, type Prober } from './types.js';

/** TCP connect probe: the time from SYN to established, excluding name resolution. */
export async function probeTcp({ target, module, signal }: ProbeContext<'tcp'>): Promise<ProbeResult> {
  const host = target.host ?? '';
  const port = target.port ?? module.port ?? 0;
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(module.timeout * 1000)]);
  let address: string;
  try {
    address = (await lookup(host)).address;
  } catch (err) {
    return failure('dns', `resolve ${host}: ${describeError(err)}`);
  }
  return new Promise<ProbeResult>((resolve) => {
    const socket = new Socket();
    const started = process.hrtime.bigint();
    const finish = (result: ProbeResult) => {
      deadline.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish(failure('timeout', `no connection to ${host}:${port} within ${module.timeout}s`));
    if (deadline.aborted) return onAbort();
    deadline.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9 }));
    socket.once('error', (err) => finish(failure(reasonFromError(err), `connect ${host}:${port}: ${describeError(err)}`)));
    socket.connect({ host: address, port });
  });
}

export const tcpProber: Prober<'tcp'> = { probe: probeTcp };
