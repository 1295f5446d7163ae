import type { Logger } from 'pino';
import { Agent } from './agent.js';
import { ConfigError } from '../lib/config-file.js';
import { loadConfigFile } from './config/load.js';
import type { AgentConfig } from './config/schema.js';
import { createLogger, type LogFormat, type LogLevel } from '../lib/log.js';
import { installProcessErrorHandlers } from '../lib/process-errors.js';
import { exporterHandler } from './http/handler.js';
import { ScrapeLimit } from './http/scrape-load.js';
import { keepTrimmingMallocHeap } from './memory-release.js';
import { startWebServer, type WebServer } from '../web/server.js';

/** Time allowed for a clean stop on SIGTERM/SIGINT before the process exits anyway. */
export const SHUTDOWN_BOUND_MS = 5000;

export interface AgentProcessOptions {
  /** The file to (re)load on SIGHUP; absent for the embedded demo config. */
  configFile?: string;
  config: AgentConfig;
  /** Exporter-toolkit web config (TLS, mTLS, basic auth) for the HTTP endpoints; re-read when it changes. */
  webConfigFile?: string;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  /** Called after the agent has stopped, before exit: the demo stops its responder here. */
  onStop?: () => Promise<void>;
}

export interface RunningAgent {
  agent: Agent;
  server: WebServer;
  log: Logger;
  stop(): Promise<void>;
  reload(): Promise<boolean>;
}

/** Starts the agent and its HTTP endpoints, and wires SIGTERM/SIGINT (stop) and SIGHUP (reload). */
export async function runAgentProcess(options: AgentProcessOptions): Promise<RunningAgent> {
  const log = createLogger(options.logLevel ?? options.config.log.level, options.logFormat);
  installProcessErrorHandlers(log, 'agent');
  const agent = new Agent(log);
  await agent.apply(options.config);
  const handler = exporterHandler({
    registry: () => agent.registry,
    ready: () => agent.isReady(),
    statusPage: () =>
      agent.config && {
        site: agent.config.site,
        ready: agent.isReady(),
        targets: agent.targetStates(),
        componentTargets: agent.componentTargetStatus(),
        unavailable: [...agent.proberAvailability()].flatMap(([kind, a]) => (a.available ? [] : [{ kind, why: a.why }])),
      },
    onError: (err) => {
      agent.metrics?.errors.inc({ class: 'http_server' });
      log.error({ err }, 'serving metrics failed');
    },
  }, { limit: new ScrapeLimit(options.config.listen.max_requests) });
  const { address, port } = options.config.listen;
  const server = await startWebServer({ listen: { address, port }, handler, log, ...(options.webConfigFile ? { webConfigFile: options.webConfigFile } : {}) });
  log.info({ metrics: `${server.url}/metrics`, status: `${server.url}/`, site: options.config.site.id }, `linkmon agent for site ${options.config.site.id} serving metrics at ${server.url}/metrics`);
  const stopTrimming = keepTrimmingMallocHeap();

  let reloading = Promise.resolve(true);
  const reload = (): Promise<boolean> => {
    reloading = reloading.then(() => reloadFrom(options.configFile, agent, log));
    return reloading;
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      stopTrimming();
      await agent.stop();
      await server.close();
      await options.onStop?.();
      log.info('stopped');
    })());

  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping');
    const forced = setTimeout(() => {
      log.error({ bound_ms: SHUTDOWN_BOUND_MS }, 'clean stop took too long; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_BOUND_MS);
    forced.unref();
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('SIGHUP', () => void reload());

  return { agent, server, log, stop, reload };
}

async function reloadFrom(file: string | undefined, agent: Agent, log: Logger): Promise<boolean> {
  if (!file) {
    log.warn('SIGHUP: running on the embedded demo config; nothing to reload');
    return false;
  }
  try {
    const next = await loadConfigFile(file);
    const previous = agent.config;
    if (previous && JSON.stringify(previous.listen) !== JSON.stringify(next.listen)) {
      log.warn('listen changes (address, port, max_requests) take effect on restart; keeping the current listener');
    }
    await agent.apply(next);
    log.info({ file }, 'config reloaded');
    return true;
  } catch (err) {
    agent.rejectReload();
    if (err instanceof ConfigError) log.error({ file, problems: err.problems }, 'config reload rejected; the previous config keeps running');
    else log.error({ err, file }, 'config reload failed; the previous config keeps running');
    return false;
  }
}
