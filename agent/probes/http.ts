import { lookup } from 'node:dns/promises';
import { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Agent, request, type buildConnector } from 'undici';
import { readSecretFile } from '../../lib/config-file.js';
import { describeError, reasonFromError } from './reasons.js';
import { failure, HTTP_PHASES, type HttpDetails, type HttpPhase, type ProbeContext, type ProbeResult, type Prober } from './types.js';

/** Only this much of the body is kept for expect_body matching; the rest is read and discarded. */
const MAX_BODY_BYTES = 1 << 20;

interface PhaseClock {
  start: bigint;
  resolved?: bigint;
  connected?: bigint;
  secured?: bigint;
  headers?: bigint;
  done?: bigint;
  certExpirySeconds?: number;
}

/**
 * HTTP(S) probe with blackbox-style phase timings. Each probe uses a fresh connection (its own
 * undici Agent with a connector that times DNS, TCP and TLS), so every result includes connect.
 */
export async function probeHttp({ target, module, signal }: ProbeContext<'http'>): Promise<ProbeResult> {
  const url = new URL(target.url ?? '');
  const timeout = AbortSignal.timeout(module.timeout * 1000);
  const deadline = AbortSignal.any([signal, timeout]);
  const clock: PhaseClock = { start: process.hrtime.bigint() };
  let ca: Buffer | undefined;
  if (module.tls.ca_file) {
    // Read at each probe, so a rotated CA file is picked up without a reload.
    const read = await readSecretFile(module.tls.ca_file, 'tls.ca_file');
    if ('problem' in read) return failure('error', read.problem);
    ca = read;
  }
  const dispatcher = new Agent({ connect: timedConnector(clock, { ca, servername: module.tls.server_name, insecure: module.tls.insecure_skip_verify }), pipelining: 0 });
  let statusCode = 0;
  try {
    const response = await request(url, {
      dispatcher,
      method: module.method,
      headers: module.headers,
      signal: deadline,
      headersTimeout: module.timeout * 1000,
      bodyTimeout: module.timeout * 1000,
    });
    clock.headers = process.hrtime.bigint();
    statusCode = response.statusCode;
    const body = await readBounded(response.body);
    clock.done = process.hrtime.bigint();
    const http = details(clock, statusCode);
    const expected = module.expect_status.length > 0 ? module.expect_status.includes(statusCode) : statusCode >= 200 && statusCode < 300;
    if (!expected) return failure('http_status', `${module.method} ${url.href}: status ${statusCode}`, { http });
    if (module.expect_body !== undefined && !new RegExp(module.expect_body).test(body)) {
      return failure('body_mismatch', `${module.method} ${url.href}: body does not match /${module.expect_body}/`, { http });
    }
    return { ok: true, durationSeconds: seconds(clock.start, clock.done), http };
  } catch (err) {
    const reason = timeout.aborted ? 'timeout' : reasonFromError(err);
    return failure(reason, `${module.method} ${url.href}: ${timeout.aborted ? `no complete answer within ${module.timeout}s` : describeError(err)}`, {
      http: details(clock, statusCode),
    });
  } finally {
    void dispatcher.destroy().catch(() => undefined);
  }
}

function timedConnector(clock: PhaseClock, tls: { ca: Buffer | undefined; servername: string | undefined; insecure: boolean }): buildConnector.connector {
  return (options, callback) => {
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    lookup(options.hostname.replace(/^\[|\]$/g, '')).then(
      ({ address }) => {
        clock.resolved = process.hrtime.bigint();
        const socket = new Socket();
        socket.once('error', (err) => callback(err, null));
        socket.connect({ host: address, port }, () => {
          clock.connected = process.hrtime.bigint();
          if (options.protocol !== 'https:') {
            socket.removeAllListeners('error');
            callback(null, socket);
            return;
          }
          const secure: TLSSocket = tlsConnect({
            socket,
            servername: tls.servername ?? (isIpLiteral(options.hostname) ? undefined : options.hostname),
            ca: tls.ca,
            rejectUnauthorized: !tls.insecure,
            ALPNProtocols: ['http/1.1'],
          });
          secure.once('error', (err) => callback(err, null));
          secure.once('secureConnect', () => {
            clock.secured = process.hrtime.bigint();
            const validTo = secure.getPeerCertificate().valid_to;
            if (validTo) clock.certExpirySeconds = Date.parse(validTo) / 1000;
            secure.removeAllListeners('error');
            socket.removeAllListeners('error');
            callback(null, secure);
          });
        });
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
}

async function readBounded(body: AsyncIterable<Buffer>): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_BODY_BYTES) kept.push(chunk.subarray(0, MAX_BODY_BYTES - size));
    size += chunk.length;
  }
  return Buffer.concat(kept).toString('utf8');
}

function details(clock: PhaseClock, statusCode: number): HttpDetails {
  const phaseSeconds = Object.fromEntries(HTTP_PHASES.map((p) => [p, 0])) as Record<HttpPhase, number>;
  const { start, resolved, connected, secured, headers, done } = clock;
  if (resolved) phaseSeconds.resolve = seconds(start, resolved);
  if (resolved && connected) phaseSeconds.connect = seconds(resolved, connected);
  if (connected && secured) phaseSeconds.tls = seconds(connected, secured);
  const ready = secured ?? connected;
  if (ready && headers) phaseSeconds.processing = seconds(ready, headers);
  if (headers && done) phaseSeconds.transfer = seconds(headers, done);
  return { statusCode, phaseSeconds, ...(clock.certExpirySeconds !== undefined ? { certExpirySeconds: clock.certExpirySeconds } : {}) };
}

const seconds = (from: bigint, to: bigint) => Number(to - from) / 1e9;
const isIpLiteral = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');

export const httpProber: Prober<'http'> = { probe: probeHttp };
