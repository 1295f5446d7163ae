import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_THROUGHPUT_SECONDS, type TargetConfig } from '../config/schema.js';
import { readSecretFile } from '../../lib/config-file.js';
import type { ThroughputDirection } from './directions.js';
import { measureTransfer, type TransferOptions, type TransferResult, type TransferTls } from './transfer.js';
import type { ModuleOf } from '../probes/types.js';
import { timerMs } from '../../lib/units.js';

type ThroughputModule = ModuleOf<'throughput'>;

/** Longest wait honoured from a 429's Retry-After before asking again (the header is an upper bound). */
const MAX_BUSY_WAIT_SECONDS = 120;

export interface DirectionTestOptions {
  /** Shutdown or reload: the transfer and any busy wait stop at once. */
  signal: AbortSignal;
  onBytes?: (bytes: number) => void;
  /** The address family the test's connections use (linkmon_probe_ip_protocol). */
  onFamily?: (family: 4 | 6) => void;
}

export type DirectionTestResult = TransferResult & {
  /** 429 answers received before this result (each followed by a wait of Retry-After). */
  busyAnswers: number;
};

/**
 * One direction of a throughput test as the module configures it: reads the token and CA (at each
 * test, so rotated files are picked up), runs the transfer, and on the responder's 429 waits for
 * Retry-After and asks again up to `busy_retries` times before giving up as busy.
 */
export async function runThroughputDirection(
  target: TargetConfig,
  module: ThroughputModule,
  direction: ThroughputDirection,
  { signal, onBytes, onFamily }: DirectionTestOptions,
): Promise<DirectionTestResult> {
  const credentials = await loadCredentials(module);
  if ('problem' in credentials) return { direction, outcome: 'failed', reason: 'error', detail: credentials.problem, totalBytes: 0, elapsedSeconds: 0, busyAnswers: 0 };
  const options: TransferOptions = {
    baseUrl: target.url ?? '',
    direction,
    streams: module.streams,
    amount: module.bytes !== undefined ? { bytes: module.bytes } : { seconds: module.duration ?? DEFAULT_THROUGHPUT_SECONDS },
    warmupSeconds: module.warmup,
    maxBytes: module.max_bytes,
    maxSeconds: module.max_duration,
    stallSeconds: module.timeout,
    token: credentials.token,
    testId: `${target.name.slice(0, 48)}-${randomBytes(6).toString('hex')}`,
    tls: credentials.tls,
    network: module,
    signal,
    onBytes,
    ...(onFamily ? { onFamily } : {}),
  };
  let totalBytes = 0;
  for (let busyAnswers = 0; ; busyAnswers += 1) {
    const result = await measureTransfer(options);
    totalBytes += result.totalBytes;
    if (result.outcome !== 'busy' || busyAnswers >= module.busy_retries) return { ...result, totalBytes, busyAnswers };
    const waitSeconds = Math.min(MAX_BUSY_WAIT_SECONDS, Math.max(1, result.retryAfterSeconds ?? 5));
    try {
      await sleep(timerMs(waitSeconds), undefined, { signal });
    } catch {
      return { direction, outcome: 'aborted', totalBytes, elapsedSeconds: result.elapsedSeconds, busyAnswers: busyAnswers + 1 };
    }
  }
}

type Credentials = { token?: string; tls: TransferTls } | { problem: string };

async function loadCredentials(module: ThroughputModule): Promise<Credentials> {
  const tls: TransferTls = { servername: module.tls.server_name, rejectUnauthorized: !module.tls.insecure_skip_verify };
  if (module.tls.ca_file) {
    const ca = await readSecretFile(module.tls.ca_file, 'tls.ca_file');
    if ('problem' in ca) return ca;
    tls.ca = ca;
  }
  if (module.token_file) {
    const read = await readSecretFile(module.token_file, 'token_file');
    if ('problem' in read) return read;
    const token = read.toString('utf8').trim();
    return token ? { token, tls } : { problem: `token_file ${module.token_file} is empty` };
  }
  if (module.token_env) {
    const token = process.env[module.token_env]?.trim();
    return token ? { token, tls } : { problem: `environment variable ${module.token_env} (token_env) is not set` };
  }
  return { tls };
}
