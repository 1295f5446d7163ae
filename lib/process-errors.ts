import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

export const PROCESS_ERROR_EVENTS = ['unhandled_rejection', 'uncaught_exception'] as const;
type ProcessErrorEvent = (typeof PROCESS_ERROR_EVENTS)[number];

/** Per process, not per registry: an agent reload that rebuilds its registry keeps the count. */
const counts: Record<ProcessErrorEvent, number> = { unhandled_rejection: 0, uncaught_exception: 0 };
let current: { log: Logger; role: string } | undefined;

/**
 * Logs and counts every unhandled promise rejection and uncaught exception (each is a bug), and
 * keeps the process running: a monitoring agent that exits on a bug in one prober stops watching
 * every link, and systemd restarting it would lose every counter. Installed once; a second call
 * only replaces the logger.
 */
export function installProcessErrorHandlers(log: Logger, role: string): void {
  const installed = current !== undefined;
  current = { log, role };
  if (installed) return;
  const report = (event: ProcessErrorEvent, err: unknown, origin?: string) => {
    counts[event] += 1;
    current?.log.error({ err, event, origin, role: current.role, count: counts[event] }, `${event.replace('_', ' ')} (a bug; please report it with this log line); the ${current.role} keeps running`);
  };
  process.on('unhandledRejection', (reason) => report('unhandled_rejection', reason));
  process.on('uncaughtException', (err, origin) => report('uncaught_exception', err, origin));
}

/** linkmon_unhandled_errors_total{event}, read from the process-wide counts at each scrape. */
export function registerProcessErrorMetric(registry: Registry): void {
  new Counter({
    name: 'linkmon_unhandled_errors_total',
    help: 'Unhandled promise rejections and uncaught exceptions (bugs), logged with their stack; the process keeps running.',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const event of PROCESS_ERROR_EVENTS) this.inc({ event }, counts[event]);
    },
  });
}
