// Starts the real Debian `prometheus` (2.42) and `prometheus-alertmanager` (0.25) binaries for tests.
// Needs the Debian packages prometheus and prometheus-alertmanager (scripts/test-host-setup.sh);
// the `netns` option also needs root (`ip netns exec`).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { killOnProcessExit } from './exit-cleanup.js';
import { bridgeIntoNetns, type NetnsBridge } from './netns-bridge.js';
import type { MatrixSeries, VectorSample } from '../../report/prometheus.js';
import { freeLoopbackPort } from './ports.js';

/** The shapes of the Prometheus HTTP API's answers, as linkmon report reads them. */
export type { MatrixSeries, VectorSample };

/** A Prometheus scrape_config object (snake_case fields, as in prometheus.yml). */
export type ScrapeConfig = { job_name: string } & Record<string, unknown>;

export interface PrometheusOptions {
  /** Scrape configs; see staticScrape(). Ignored when configYaml is given. */
  scrapeConfigs?: ScrapeConfig[];
  /** A complete prometheus.yml; replaces everything built from the other options. */
  configYaml?: string;
  /** Rule files (paths) to load. */
  ruleFiles?: string[];
  /** Rule file contents (YAML text) to write into the temp dir and load. */
  ruleYaml?: string[];
  /** Alertmanager base URL as seen from where Prometheus runs, e.g. `alertmanager.nsUrl`. */
  alertmanagerUrl?: string;
  /** Run inside this network namespace (needs root); `url` still works from the host via a bridge. */
  netns?: string;
  /** Prometheus duration strings; default '1s' each. */
  scrapeInterval?: string;
  evaluationInterval?: string;
  extraArgs?: string[];
  /** A TSDB directory of the caller's (kept when Prometheus stops), instead of a fresh one. */
  storagePath?: string;
  /**
   * Called with the (empty) TSDB directory before Prometheus starts, e.g. to backfill history with
   * `promtool tsdb create-blocks-from openmetrics <file> <dir>`. Add a long enough
   * `--storage.tsdb.retention.time` to extraArgs or retention deletes the old blocks at start.
   */
  initStorage?: (tsdbPath: string) => void | Promise<void>;
}

export interface PrometheusInstance {
  /** Base URL reachable from the test process, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Base URL as seen by processes in the same namespace (same as url when not in a netns). */
  nsUrl: string;
  configPath: string;
  query: (expr: string, time?: number) => Promise<VectorSample[]>;
  /** The single value of a one-element result, or undefined when the result is empty. */
  queryValue: (expr: string, time?: number) => Promise<number | undefined>;
  queryRange: (expr: string, start: number, end: number, stepSeconds: number) => Promise<MatrixSeries[]>;
  /** The raw samples (scrape timestamps and values) of a range selector such as `metric{...}[15s]` at `time`. */
  querySamples: (rangeSelector: string, time?: number) => Promise<MatrixSeries[]>;
  /** Polls `expr` until the result is non-empty (and `accept` agrees, if given). */
  waitForSeries: (expr: string, timeoutMs?: number, accept?: (result: VectorSample[]) => boolean) => Promise<VectorSample[]>;
  /** GET /api/v1/alerts → data.alerts */
  alerts: () => Promise<PrometheusAlert[]>;
  /** GET /api/v1/rules → data.groups */
  rules: () => Promise<unknown[]>;
  /** GET /api/v1/targets → data.activeTargets */
  targets: () => Promise<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[]>;
  /** Optionally rewrites the config file, then POST /-/reload. */
  reloadConfig: (newConfigYaml?: string) => Promise<void>;
  /** Everything Prometheus logged so far. */
  output: () => string;
  stop: () => Promise<void>;
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value: string;
}

/** `{ job_name, static_configs: [{ targets, labels }] }` plus any extra fields (e.g. `metrics_path`). */
export function staticScrape(jobName: string, targets: string[], extra: Record<string, unknown> = {}, labels?: Record<string, string>): ScrapeConfig {
  return { job_name: jobName, static_configs: [{ targets, ...(labels ? { labels } : {}) }], ...extra };
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-prom-'));
  const configPath = join(dir, 'prometheus.yml');
  const ruleFiles = (options.ruleFiles ?? []).map((f) => resolve(f));
  (options.ruleYaml ?? []).forEach((text, i) => {
    const path = join(dir, `rules-${i}.yml`);
    writeFileSync(path, text);
    ruleFiles.push(path);
  });
  const configYaml = options.configYaml ?? buildPrometheusConfig(options, ruleFiles);
  writeFileSync(configPath, configYaml);
  const storagePath = options.storagePath ?? join(dir, 'data');
  if (options.initStorage) {
    try {
      await options.initStorage(storagePath);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  const daemon = await startDaemon({
    name: 'prometheus',
    dir,
    netns: options.netns,
    argv: (listen) => [
      'prometheus',
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${storagePath}`,
      `--web.listen-address=${listen}`,
      '--web.enable-lifecycle',
      ...(options.extraArgs ?? []),
    ],
  });

  const api = async <T>(path: string, params?: Record<string, string>): Promise<T> => {
    const body = params ? new URLSearchParams(params) : undefined;
    const res = await fetch(`${daemon.url}${path}`, body ? { method: 'POST', body } : {});
    const json = (await res.json()) as { status: string; data: T; error?: string };
    if (json.status !== 'success') throw new Error(`Prometheus ${path}: ${json.error ?? res.status}`);
    return json.data;
  };
  const query = async (expr: string, time?: number): Promise<VectorSample[]> => {
    const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', { query: expr, ...(time !== undefined ? { time: String(time) } : {}) });
    if (data.resultType === 'vector') return data.result as VectorSample[];
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    throw new Error(`query ${expr}: expected an instant vector, got ${data.resultType}`);
  };

  return {
    url: daemon.url,
    nsUrl: daemon.nsUrl,
    configPath,
    query,
    queryValue: async (expr, time) => {
      const result = await query(expr, time);
      if (result.length > 1) throw new Error(`query ${expr}: expected at most one series, got ${result.length}`);
      return result[0] ? Number(result[0].value[1]) : undefined;
    },
    querySamples: async (rangeSelector, time) => {
      const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', { query: rangeSelector, ...(time !== undefined ? { time: String(time) } : {}) });
      if (data.resultType !== 'matrix') throw new Error(`query ${rangeSelector}: expected a range vector, got ${data.resultType}`);
      return data.result as MatrixSeries[];
    },
    queryRange: async (expr, start, end, step) => {
      const data = await api<{ result: MatrixSeries[] }>('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) });
      return data.result;
    },
    waitForSeries: async (expr, timeoutMs = 20_000, accept) => {
      const deadline = Date.now() + timeoutMs;
      let last: VectorSample[] = [];
      let lastError: unknown;
      while (Date.now() < deadline) {
        try {
          last = await query(expr);
          if (last.length > 0 && (!accept || accept(last))) return last;
        } catch (err) {
          lastError = err;
        }
        await sleep(250);
      }
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${expr}; last result ${JSON.stringify(last)}${lastError ? `, last error ${String(lastError)}` : ''}`,
      );
    },
    alerts: async () => (await api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts')).alerts,
    rules: async () => (await api<{ groups: unknown[] }>('/api/v1/rules')).groups,
    targets: async () => (await api<{ activeTargets: Awaited<ReturnType<PrometheusInstance['targets']>> }>('/api/v1/targets')).activeTargets,
    reloadConfig: async (newConfigYaml) => {
      if (newConfigYaml !== undefined) writeFileSync(configPath, newConfigYaml);
      const res = await fetch(`${daemon.url}/-/reload`, { method: 'POST' });
      if (!res.ok) throw new Error(`Prometheus reload failed (${res.status}): ${await res.text()}`);
    },
    output: daemon.output,
    stop: daemon.stop,
  };
}

export function buildPrometheusConfig(options: PrometheusOptions, ruleFiles: string[] = options.ruleFiles ?? []): string {
  const config: Record<string, unknown> = {
    global: {
      scrape_interval: options.scrapeInterval ?? '1s',
      evaluation_interval: options.evaluationInterval ?? '1s',
    },
    rule_files: ruleFiles,
    scrape_configs: options.scrapeConfigs ?? [],
  };
  if (options.alertmanagerUrl) {
    const am = new URL(options.alertmanagerUrl);
    config.alerting = {
      alertmanagers: [
        {
          scheme: am.protocol.replace(':', ''),
          ...(am.pathname !== '/' ? { path_prefix: am.pathname } : {}),
          static_configs: [{ targets: [am.host] }],
        },
      ],
    };
  }
  return stringify(config);
}

export interface AlertmanagerOptions {
  configYaml: string;
  netns?: string;
  extraArgs?: string[];
}
export interface AlertmanagerInstance {
  url: string;
  nsUrl: string;
  /** GET /api/v2/alerts */
  alerts: () => Promise<{ labels: Record<string, string>; annotations: Record<string, string>; status: { state: string } }[]>;
  output: () => string;
  stop: () => Promise<void>;
}

export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-am-'));
  const configPath = join(dir, 'alertmanager.yml');
  writeFileSync(configPath, options.configYaml);
  const daemon = await startDaemon({
    name: 'alertmanager',
    dir,
    netns: options.netns,
    argv: (listen) => [
      'prometheus-alertmanager',
      `--config.file=${configPath}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${listen}`,
      // Empty disables the gossip cluster listener (it would need another port and UDP).
      '--cluster.listen-address=',
      ...(options.extraArgs ?? []),
    ],
  });
  return {
    url: daemon.url,
    nsUrl: daemon.nsUrl,
    alerts: async () => {
      const res = await fetch(`${daemon.url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`Alertmanager /api/v2/alerts: ${res.status}`);
      return (await res.json()) as Awaited<ReturnType<AlertmanagerInstance['alerts']>>;
    },
    output: daemon.output,
    stop: daemon.stop,
  };
}

export interface Daemon {
  url: string;
  nsUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

const MAX_OUTPUT = 256 * 1024;
const READY_TIMEOUT_MS = 20_000;

/**
 * Spawns a daemon listening on 127.0.0.1:<free port> (inside `netns` when given), waits for /-/ready,
 * and retries with another port if the chosen one was taken meanwhile. `stop` ends it and removes `dir`.
 */
export async function startDaemon(spec: { name: string; dir: string; netns?: string; argv: (listen: string) => string[] }): Promise<Daemon> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startDaemonOnce(spec);
    } catch (err) {
      lastError = err;
      if (!/address already in use/i.test(String(err))) break;
    }
  }
  rmSync(spec.dir, { recursive: true, force: true });
  throw lastError;
}

async function startDaemonOnce(spec: { name: string; dir: string; netns?: string; argv: (listen: string) => string[] }): Promise<Daemon> {
  const port = await freeLoopbackPort();
  const argv = spec.argv(`127.0.0.1:${port}`);
  const command = spec.netns ? ['ip', 'netns', 'exec', spec.netns, ...argv] : argv;
  const child = spawn(command[0]!, command.slice(1), { cwd: spec.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnProcessExit(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > MAX_OUTPUT) output = output.slice(-MAX_OUTPUT / 2);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('error', (err) => (output += `\nspawn error: ${err.message}`));

  const nsUrl = `http://127.0.0.1:${port}`;
  let bridge: NetnsBridge | undefined;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await bridge?.close();
    rmSync(spec.dir, { recursive: true, force: true });
  };

  try {
    bridge = spec.netns ? await bridgeIntoNetns(spec.netns, port) : undefined;
    const url = bridge ? `http://${bridge.hostPort}` : nsUrl;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${spec.name} exited before it was ready:\n${output}`);
      if (Date.now() > deadline) throw new Error(`${spec.name} not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
      try {
        const res = await fetch(`${url}/-/ready`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    return { url, nsUrl, output: () => output, stop };
  } catch (err) {
    // Keep the temp dir for a retry: only the process and bridge go.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await bridge?.close();
    throw err;
  }
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
