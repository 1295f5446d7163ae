import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { z } from 'zod';

/**
 * Paths pino blanks out wherever they appear, so a secret passed by mistake never reaches a log.
 * Code must still not log secrets on purpose; this is the safety net.
 */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  '*.auth_password',
  '*.priv_password',
  'community',
  '*.community',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
];

export const logLevelSchema = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
export type LogLevel = z.output<typeof logLevelSchema>;
/** `--log.format`, as Prometheus and its exporters spell it. */
export const logFormatSchema = z.enum(['json', 'logfmt']);
export type LogFormat = z.output<typeof logFormatSchema>;

/**
 * Log lines on stdout: JSON (one object a line), logfmt, or, when no format is given and stdout is
 * a terminal, human-readable.
 */
export function createLogger(level: LogLevel = 'info', format?: LogFormat): Logger {
  const options = { level, base: { service: 'linkmon' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (format === 'logfmt') return pino(options, { write: (line: string) => void process.stdout.write(logfmtLine(JSON.parse(line) as Record<string, unknown>)) });
  const pretty = format === undefined && process.stdout.isTTY;
  return pretty ? pino(options, prettyStream()) : pino(options);
}

/**
 * pino-pretty on this thread, loaded only for a terminal. Not as a pino transport: that runs it in a
 * worker thread (a second V8 heap) found by file name, which a bundle does not have (scripts/bundle.mjs).
 */
function prettyStream(): PinoPretty.PrettyStream {
  const build = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return build({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', sync: true });
}

/** One pino record as a logfmt line: `ts=… level=… msg="…" key=value …` (nested values as JSON). */
export function logfmtLine(record: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = record;
  const fields: [string, unknown][] = [
    ['ts', typeof time === 'number' ? new Date(time).toISOString() : time],
    ['level', typeof level === 'number' ? (pino.levels.labels[level] ?? level) : level],
    ...(msg === undefined ? [] : [['msg', msg] as [string, unknown]]),
    ...Object.entries(rest),
  ];
  return `${fields.map(([key, value]) => `${key}=${logfmtValue(value)}`).join(' ')}\n`;
}

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  return text === '' || /[\s="\\]/.test(text) ? JSON.stringify(text) : text;
}
