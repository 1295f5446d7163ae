#!/usr/bin/env node
import { ConfigError } from '../lib/config-file.js';
import { loadConfigFile } from '../agent/config/load.js';
import { runDemo } from './demo.js';
import { runThroughputNow } from './throughput.js';
import { validateConfigFile } from './validate.js';
import { logLevelSchema, type LogLevel } from '../lib/log.js';
import { runAgentProcess } from '../agent/process.js';
import { runResponderProcess } from '../responder/process.js';
import { loadWebConfig } from '../web/config-load.js';
import { LINKMON_VERSION } from '../lib/version.js';
import { REPORT_USAGE } from '../report/args.js';
import { runReport } from '../report/main.js';

const USAGE = `linkmon ${LINKMON_VERSION}: link-health monitoring agent and Prometheus exporter

Usage:
  linkmon                              run the demo: a loopback responder plus an agent probing it
  linkmon agent --config FILE          run the site agent
  linkmon validate --config FILE       check a config file and exit (0 valid, 2 invalid)
                                       (with --web.config.file: that file too)
  linkmon responder --config FILE      run the data-centre responder (docs/responder.md)
  linkmon throughput --config FILE [--target NAME] [--stdin]
                                       run the config's throughput tests now, one JSON line per
                                       direction (--stdin: one "<target> <download|upload>" per line)
  linkmon report --prometheus URL [--month YYYY-MM] [...]
                                       the monthly capacity report (docs/capacity.md; --help for
                                       its options; exit 3 when the month has no data or the link is unknown)
  linkmon --help | --version

Options:
  --config FILE        YAML config (see config/examples/)
  --log-level LEVEL    trace, debug, info, warn, error or fatal (overrides log.level)
  --web.config.file FILE
                       Prometheus exporter-toolkit web config: TLS, mTLS and basic auth for the
                       HTTP endpoints (responder: basic auth on /metrics); changes apply without restart

Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the config (a bad file is rejected, the old config keeps running).
`;

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config. */
export class UsageError extends Error {}

interface ParsedArgs {
  command: string;
  options: Map<string, string>;
  flags: Set<string>;
}

const VALUE_OPTIONS = new Set(['--config', '--log-level', '--web.config.file', '--target']);
const FLAG_OPTIONS = new Set(['--help', '-h', '--version', '--stdin']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options = new Map<string, string>();
  const flags = new Set<string>();
  let command: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (VALUE_OPTIONS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      options.set(name, value);
    } else if (FLAG_OPTIONS.has(name)) {
      flags.add(name);
    } else if (name.startsWith('-')) {
      throw new UsageError(`unknown option ${name}`);
    } else if (command === undefined) {
      command = name;
    } else {
      throw new UsageError(`unexpected argument "${name}"`);
    }
  }
  return { command: command ?? 'demo', options, flags };
}

function logLevelOption(options: Map<string, string>): LogLevel | undefined {
  const raw = options.get('--log-level');
  if (raw === undefined) return undefined;
  const parsed = logLevelSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`--log-level: expected one of ${logLevelSchema.options.join(', ')}, got "${raw}"`);
  return parsed.data;
}

function requireConfig(command: string, options: Map<string, string>): string {
  const file = options.get('--config');
  if (!file) throw new UsageError(`${command} needs --config FILE`);
  return file;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'report') {
    // Its own options (report/args.ts); it reads Prometheus only and never runs at a site.
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(REPORT_USAGE);
      return 0;
    }
    return runReport(argv.slice(1), { stdout: process.stdout, stderr: process.stderr, now: () => Date.now() / 1000 });
  }
  const { command, options, flags } = parseArgs(argv);
  if (flags.has('--help') || flags.has('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.has('--version')) {
    process.stdout.write(`${LINKMON_VERSION}\n`);
    return 0;
  }
  const logLevel = logLevelOption(options);
  const webConfigFile = options.get('--web.config.file');
  // A bad web config stops the process before anything starts probing (exit 2, like a bad config).
  const webConfig = webConfigFile ? await loadWebConfig(webConfigFile) : undefined;
  switch (command) {
    case 'validate': {
      const file = requireConfig(command, options);
      process.stdout.write(`${await validateConfigFile(file)}\n`);
      if (webConfig) {
        process.stdout.write(`${webConfigFile}: valid (${webConfig.tls ? `TLS, client auth ${webConfig.tls.clientAuth}` : 'no TLS'}, ${webConfig.users.size} basic auth users)\n`);
      }
      return 0;
    }
    case 'agent': {
      const file = requireConfig(command, options);
      await runAgentProcess({ configFile: file, config: await loadConfigFile(file), ...(logLevel ? { logLevel } : {}), ...(webConfigFile ? { webConfigFile } : {}) });
      return -1;
    }
    case 'responder': {
      const file = requireConfig(command, options);
      await runResponderProcess({ configFile: file, ...(logLevel ? { logLevel } : {}), ...(webConfigFile ? { webConfigFile } : {}) });
      return -1;
    }
    case 'throughput': {
      const target = options.get('--target');
      await runThroughputNow(requireConfig(command, options), { stdin: flags.has('--stdin'), ...(target ? { target } : {}) });
      return 0;
    }
    case 'demo':
      await runDemo(logLevel);
      return -1;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`linkmon: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`linkmon: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`linkmon: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
