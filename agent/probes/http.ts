import type { Socket } from 'node:net';
import { Client, type Dispatcher } from 'undici';
import { readSecretFile } from '../../lib/config-file.js';
import { describeError } from '../../lib/error-code.js';
import { familyChoice } from '../config/network-fields.js';
import { AttemptDeadline } from './deadline.js';
import { reasonFromError } from './reasons.js';
import { systemResolver, type AddressFamily, type NameResolver } from './resolver.js';
import { socketOptionsOf } from './socket-options.js';
import { resolveTarget } from './target-address.js';
import { connectWithin } from './tcp-connect.js';
import { secureWithin, type TlsClientSettings } from './tls-connect.js';
import { failure, HTTP_PHASES, type HttpDetails, type HttpPhase, type ProbeContext, type ProbeResult, type Prober } from './types.js';

/** Seconds of each phase as far as the attempt got; a phase not reached stays 0. */
type PhaseSeconds = Record<HttpPhase, number>;

/**
 * HTTP(S) probe with blackbox-style phase timings, on a fresh connection each time, in the
 * module's address family, from its source address and with its DSCP (tcp-connect.ts). Every step
 * (name resolution, connect, TLS handshake, request, body) runs inside one deadline that the
 * prober owns (deadline.ts) and that destroys the connection when it passes. `connect` is the
 * kernel's handshake RTT (tcp-connect.ts); the other phases are taken on the monotonic clock; the
 * duration is the sum of the phases. The body is read up to `body_size_limit` bytes: beyond
 * that the connection is closed and the attempt fails with reason `body_too_large`, so an endless
 * body costs what a normal one does.
 */
export async function probeHttp({ target, module, signal }: ProbeContext<'http'>, resolver: NameResolver = systemResolver): Promise<ProbeResult> {
  const url = new URL(target.url ?? '');
  const what = `${module.method} ${url.href}`;
  const deadline = new AttemptDeadline(module.timeout, signal);
  const phases = Object.fromEntries(HTTP_PHASES.map((p) => [p, 0])) as PhaseSeconds;
  const http: HttpDetails = { statusCode: 0, phaseSeconds: phases };
  let ipProtocol: AddressFamily | undefined;
  const fail = (reason: Parameters<typeof failure>[0], detail: string) => failure(reason, `${what}: ${detail}`, { http, ...(ipProtocol && { ipProtocol }) });
  let mark = process.hrtime.bigint();
  const lap = () => {
    const now = process.hrtime.bigint();
    const seconds = Number(now - mark) / 1e9;
    mark = now;
    return seconds;
  };
  let socket: Socket | undefined;
  let client: Client | undefined;
  try {
    const tls = url.protocol === 'https:' ? await tlsSettings(module) : undefined;
    if (typeof tls === 'string') return failure('error', tls, { http });
    lap();
    const resolved = await resolveTarget(resolver, url.hostname.replace(/^\[|\]$/g, ''), familyChoice(module), deadline);
    if ('reason' in resolved) return { ...resolved, http };
    phases.resolve = lap();
    ipProtocol = resolved.family;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const connected = await connectWithin(resolved.address, port, deadline, url.host, socketOptionsOf(module));
    if ('reason' in connected) return fail(connected.reason, connected.detail);
    lap();
    phases.connect = connected.connectSeconds;
    socket = connected.socket;
    if (tls) {
      const secured = await secureWithin(socket, url.hostname, tls, deadline);
      if ('reason' in secured) return fail(secured.reason, secured.detail);
      phases.tls = lap();
      socket = secured.socket;
      if (secured.certExpirySeconds !== undefined) http.certExpirySeconds = secured.certExpirySeconds;
    }
    client = new Client(url.origin, { connect: handOver(socket), headersTimeout: 0, bodyTimeout: 0 });
    const response = await client.request({ path: url.pathname + url.search, method: module.method, headers: module.headers, signal: deadline.signal });
    phases.processing = lap();
    http.statusCode = response.statusCode;
    const body = await readWithin(response, module.body_size_limit);
    phases.transfer = lap();
    if (body === undefined) return fail('body_too_large', `body larger than body_size_limit (${module.body_size_limit} bytes)`);
    const expected = module.expect_status.length > 0 ? module.expect_status.includes(http.statusCode) : http.statusCode >= 200 && http.statusCode < 300;
    if (!expected) return fail('http_status', `status ${http.statusCode}`);
    if (module.expect_body !== undefined && !new RegExp(module.expect_body).test(body)) return fail('body_mismatch', `body does not match /${module.expect_body}/`);
    return { ok: true, durationSeconds: HTTP_PHASES.reduce((sum, phase) => sum + phases[phase], 0), http, ipProtocol };
  } catch (err) {
    if (deadline.expired) return fail('timeout', `no complete answer within ${module.timeout}s`);
    return fail(reasonFromError(err), describeError(err));
  } finally {
    deadline.clear();
    void client?.destroy().catch(() => undefined);
    socket?.destroy();
  }
}

/** The module's TLS settings; the CA file is read at each probe, so a rotated file is picked up without a reload. */
async function tlsSettings(module: ProbeContext<'http'>['module']): Promise<TlsClientSettings | string> {
  let ca: Buffer | undefined;
  if (module.tls.ca_file) {
    const read = await readSecretFile(module.tls.ca_file, 'tls.ca_file');
    if ('problem' in read) return read.problem;
    ca = read;
  }
  return { ca, servername: module.tls.server_name, rejectUnauthorized: !module.tls.insecure_skip_verify };
}

/** undici's connector for one request on the socket this probe already opened (and timed). */
function handOver(socket: Socket): (options: unknown, callback: (...args: [null, Socket] | [Error, null]) => void) => void {
  let given = false;
  return (_options, callback) => {
    if (given) return process.nextTick(callback, Object.assign(new Error('the probe connection is gone'), { code: 'UND_ERR_SOCKET' }), null);
    given = true;
    // Asynchronously, as undici's own connector answers.
    process.nextTick(callback, null, socket);
  };
}

/** The body as text, or undefined once it passes `limit` bytes (the rest is never read). */
async function readWithin(response: Dispatcher.ResponseData, limit: number): Promise<string | undefined> {
  const announced = Number(response.headers['content-length']);
  if (announced > limit) {
    response.body.destroy();
    return undefined;
  }
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.body.destroy();
      return undefined;
    }
    kept.push(chunk);
  }
  return Buffer.concat(kept).toString('utf8');
}

export const httpProber: Prober<'http'> = { probe: (ctx) => probeHttp(ctx) };
