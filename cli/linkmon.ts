#!/usr/bin/env node
// Each command imports what it runs when it runs: the agent never loads the responder, the demo or
// the web config parser it was not asked for (bench/results/memory-analysis.md).
import { setFlagsFromString } from 'node:v8';
import { ConfigError } from '../lib/config-file.js';
import { logFormatSchema, logLevelSchema, type LogFormat, type LogLevel } from '../lib/log.js';
import { LINKMON_VERSION } from '../lib/version.js';

// undici parses HTTP with llhttp, compiled to WebAssembly: V8 compiles it with Liftoff and then again
// with TurboFan in the background, and that second compile holds ~35 MiB for a moment (the demo's peak
// RSS 126 -> 95 MiB without it) and costs more CPU than a 100 Mbit/s throughput test then saves by
// parsing faster (bench/results/memory-analysis.md). V8 reads this flag when it compiles a module, and
// nothing has compiled WebAssembly yet when this runs.
setFlagsFromString('--liftoff-only');

const USAGE = `linkmon ${LINKMON_VERSION}: link-health monitoring agent and Prometheus exporter

Usage:
  linkmon [--web.listen-address HOST:PORT]
                                       run the demo: a loopback responder plus an agent probing it
                                       (status page and metrics on 127.0.0.1:9470 unless given)
  linkmon agent --config FILE          run the site agent
  linkmon validate --config FILE       check an agent or responder config file and exit (0 valid,
                                       2 invalid); with --web.config.file: that file too
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
  --log.level LEVEL    trace, debug, info, warn, error or fatal (overrides log.level; --log-level
                       is the old spelling, still accepted)
  --log.format FORMAT  json or logfmt (default: json, or human-readable on a terminal)
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

const VALUE_OPTIONS = new Set(['--config', '--log.level', '--log.format', '--web.config.file', '--web.listen-address', '--target']);
const FLAG_OPTIONS = new Set(['--help', '-h', '--version', '--stdin']);
/** Old spellings still accepted: Prometheus-style dotted names replaced them. */
const ALIASES: Record<string, string> = { '--log-level': '--log.level' };

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options = new Map<string, string>();
  const flags = new Set<string>();
  let command: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const [given, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const name = ALIASES[given] ?? given;
    if (VALUE_OPTIONS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${given} needs a value`);
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

function enumOption<T extends string>(options: Map<string, string>, name: string, schema: { options: readonly T[]; safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | undefined {
  const raw = options.get(name);
  if (raw === undefined) return undefined;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`${name}: expected one of ${schema.options.join(', ')}, got "${raw}"`);
  return parsed.data;
}

/** `--web.listen-address 127.0.0.1:9470` (an IPv6 address in brackets: `[::1]:9470`). */
function listenAddressOption(options: Map<string, string>): { address: string; port: number } | undefined {
  const raw = options.get('--web.listen-address');
  if (raw === undefined) return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(raw);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`--web.listen-address: expected HOST:PORT such as 127.0.0.1:9470, got "${raw}"`);
  return { address: match[1] ?? match[2]!, port };
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
      process.stdout.write((await import('../report/args.js')).REPORT_USAGE);
      return 0;
    }
    const { runReport } = await import('../report/main.js');
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
  const logLevel = enumOption<LogLevel>(options, '--log.level', logLevelSchema);
  const logFormat = enumOption<LogFormat>(options, '--log.format', logFormatSchema);
  const logging = { ...(logLevel ? { logLevel } : {}), ...(logFormat ? { logFormat } : {}) };
  const webConfigFile = options.get('--web.config.file');
  const listen = listenAddressOption(options);
  if (listen && command !== 'demo') throw new UsageError('--web.listen-address is for the demo; the agent listens where its config says (listen:)');
  // A bad web config stops the process before anything starts probing (exit 2, like a bad config).
  const webConfig = webConfigFile ? await (await import('../web/config-load.js')).loadWebConfig(webConfigFile) : undefined;
  switch (command) {
    case 'validate': {
      const file = requireConfig(command, options);
      const { validateConfigFile } = await import('./validate.js');
      process.stdout.write(`${await validateConfigFile(file)}\n`);
      if (webConfig) {
        process.stdout.write(`${webConfigFile}: valid (${webConfig.tls ? `TLS, client auth ${webConfig.tls.clientAuth}` : 'no TLS'}, ${webConfig.users.size} basic auth users)\n`);
      }
      return 0;
    }
    case 'agent': {
      const file = requireConfig(command, options);
      const [{ loadConfigFile }, { runAgentProcess }] = await Promise.all([import('../agent/config/load.js'), import('../agent/process.js')]);
      await runAgentProcess({ configFile: file, config: await loadConfigFile(file), ...logging, ...(webConfigFile ? { webConfigFile } : {}) });
      return -1;
    }
    case 'responder': {
      const file = requireConfig(command, options);
      const { runResponderProcess } = await import('../responder/process.js');
      await runResponderProcess({ configFile: file, ...logging, ...(webConfigFile ? { webConfigFile } : {}) });
      return -1;
    }
    case 'throughput': {
      const target = options.get('--target');
      const { runThroughputNow } = await import('./throughput.js');
      await runThroughputNow(requireConfig(command, options), { stdin: flags.has('--stdin'), ...(target ? { target } : {}) });
      return 0;
    }
    case 'demo':
      await (await import('./demo.js')).runDemo({ ...logging, ...(listen ? { listen } : {}) });
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
