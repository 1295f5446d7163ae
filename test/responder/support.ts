import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { REDACTED_PATHS } from '../../lib/log.js';
import { responderConfigSchema, type ResponderConfig } from '../../responder/config.js';
import { startResponder, type RunningResponder } from '../../responder/server.js';

export const TOKEN = 'test-token-0123456789abcdef';
/** A second valid token: rotation keeps two in force. */
export const OTHER_TOKEN = 'rotated-token-9876543210zyxw';

/** A responder config on loopback with free ports; `input` is the YAML-shaped config to merge. */
export function loopbackConfig(input: Record<string, unknown> = {}): ResponderConfig {
  const parsed = responderConfigSchema.parse({
    listen: { address: '127.0.0.1' },
    http: { port: 0 },
    tcp: { port: 0 },
    udp: { port: 0, rate_limit: { packets_per_second: 100_000, burst: 10_000 } },
    auth: { token_env: 'UNUSED_IN_TESTS' },
    ...input,
  });
  return { ...parsed, tokens: [TOKEN, OTHER_TOKEN] };
}

/** A pino logger configured like production (same redaction) whose output the test can read. */
export function capturedLogger(): { log: Logger; output: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink), output: () => text };
}

export async function startTestResponder(input: Record<string, unknown> = {}): Promise<RunningResponder & { output: () => string }> {
  const { log, output } = capturedLogger();
  const responder = await startResponder(loopbackConfig(input), log, new Registry());
  return { ...responder, output };
}

/** The value of one series of a metric in `registry`, 0 when absent. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value));
  return match?.value ?? 0;
}
