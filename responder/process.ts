import { createLogger, type LogFormat, type LogLevel } from '../lib/log.js';
import { installProcessErrorHandlers } from '../lib/process-errors.js';
import { loadResponderConfigFile } from './config.js';
import { startResponder, type RunningResponder } from './server.js';

/** Time allowed for a clean stop on SIGTERM/SIGINT before the process exits anyway. */
const SHUTDOWN_BOUND_MS = 5000;

/** `linkmon responder --config FILE`: loads the config (ConfigError on bad input), serves until SIGTERM/SIGINT. */
export async function runResponderProcess(options: { configFile: string; logLevel?: LogLevel; logFormat?: LogFormat; webConfigFile?: string }): Promise<RunningResponder> {
  const config = await loadResponderConfigFile(options.configFile);
  const log = createLogger(options.logLevel ?? config.log.level, options.logFormat).child({ component: 'responder' });
  installProcessErrorHandlers(log, 'responder');
  const responder = await startResponder(config, log, undefined, options.webConfigFile ? { webConfigFile: options.webConfigFile } : {});
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping');
    setTimeout(() => process.exit(1), SHUTDOWN_BOUND_MS).unref();
    void responder.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return responder;
}
