import pino, { type Logger } from 'pino';
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

/** JSON lines on stdout; human-readable when stdout is a terminal. */
export function createLogger(level: LogLevel = 'info', destination: 'auto' | 'json' = 'auto'): Logger {
  const pretty = destination === 'auto' && process.stdout.isTTY;
  return pino({
    level,
    base: { service: 'linkmon' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
