// Shared plumbing of the ICMP benches: compiling and starting the agent harness, fping, throwaway
// namespaces, and writing results. Root required (raw sockets, namespaces).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createLoopbackNamespace as createLabLoopbackNamespace } from '../test/lab/loopback-namespace.js';
import { removeNamespace } from '../test/lab/naming.js';
import { inNetns, run } from '../test/lab/run.js';
import { killOnProcessExit } from '../test/support/exit-cleanup.js';
import type { HarnessOutput, HarnessSpec } from './icmp-agent-harness.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HARNESS_SOURCE = 'bench/icmp-agent-harness.ts';
const HARNESS_COMPILED = compiledPath(HARNESS_SOURCE);

/** Where compileForBench() puts the JavaScript of a repository-relative .ts file. */
export function compiledPath(source: string): string {
  return fileURLToPath(new URL(`../dist/${source.replace(/\.ts$/, '.js')}`, import.meta.url));
}

/**
 * Compiles bench entry points and everything they import into dist/ (as `npm run build` does for
 * the agent), so the benches measure the agent as production runs it: plain node, no tsx loader.
 * Type errors in files still being written elsewhere do not stop tsc from emitting.
 */
export async function compileForBench(sources: readonly string[]): Promise<void> {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const flags = ['--outDir', 'dist', '--rootDir', '.', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--lib', 'ES2023'];
  const more = ['--strict', '--skipLibCheck', '--types', 'node', '--resolveJsonModule', '--esModuleInterop'];
  await new Promise<void>((resolve) => execFile(process.execPath, [tsc, ...flags, ...more, ...sources], { cwd: REPO_ROOT, timeout: 180_000 }, () => resolve()));
}

/**
 * The production build of the cli: the bundle of scripts/bundle.mjs in dist/ (the JavaScript half of
 * `npm run build`; the native addon must have been built). Returns the cli's path.
 */
export async function bundleCli(): Promise<string> {
  await runBundler();
  return fileURLToPath(new URL('../dist/cli/linkmon.js', import.meta.url));
}

/** scripts/bundle.mjs with its arguments (e.g. `--outdir DIR --entry FILE`: a bench file bundled as the build bundles). */
export async function runBundler(args: string[] = []): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [fileURLToPath(new URL('../scripts/bundle.mjs', import.meta.url)), ...args], { cwd: REPO_ROOT, timeout: 120_000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`scripts/bundle.mjs failed: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

export async function compileHarness(): Promise<string> {
  await compileForBench([HARNESS_SOURCE]);
  return HARNESS_COMPILED;
}

export interface RunningHarness {
  child: ChildProcess;
  /** Resolves on the harness's {"event": name} line on stderr, with that event. */
  event(name: string): Promise<Record<string, unknown>>;
  result: Promise<HarnessOutput>;
}

/** `wrapper` goes between `ip netns exec NS` and node, e.g. setpriv to run as another user; `env` is added to this process's. */
export function startHarness(ns: string, spec: HarnessSpec, nodeFlags: string[] = [], wrapper: string[] = [], env: Record<string, string> = {}): RunningHarness {
  const argv = inNetns(ns, [...wrapper, process.execPath, ...nodeFlags, HARNESS_COMPILED, JSON.stringify(spec)]);
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  killOnProcessExit(child);
  let stdout = '';
  let stderr = '';
  const seen = new Map<string, Record<string, unknown>>();
  const waiting = new Map<string, ((event: Record<string, unknown>) => void)[]>();
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const line of chunk.toString().split('\n')) {
      if (!line.startsWith('{"event"')) continue;
      const event = JSON.parse(line) as Record<string, unknown>;
      seen.set(String(event.event), event);
      for (const resolve of waiting.get(String(event.event)) ?? []) resolve(event);
    }
  });
  const result = new Promise<HarnessOutput>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`agent harness exited ${code}: ${stderr.trim()}`));
      resolve(JSON.parse(stdout) as HarnessOutput);
    });
  });
  return {
    child,
    result,
    event: (name) =>
      new Promise((resolve, reject) => {
        const known = seen.get(name);
        if (known) return resolve(known);
        waiting.set(name, [...(waiting.get(name) ?? []), resolve]);
        result.then(() => reject(new Error(`agent harness ended without event ${name}`)), reject);
      }),
  };
}

export interface FpingRun {
  /** Per target, one RTT in ms per echo, undefined for a lost echo. */
  rttsMs: Map<string, (number | undefined)[]>;
  cpuSeconds: number;
  maxRssBytes: number;
  wallSeconds: number;
}

/** `fping -C count -p periodMs -q targets` under /usr/bin/time -v, in `ns`. */
export async function runFping(ns: string, targets: readonly string[], count: number, periodMs: number, extra: string[] = []): Promise<FpingRun> {
  const started = performance.now();
  const { stderr } = await run(inNetns(ns, ['/usr/bin/time', '-v', 'fping', '-C', String(count), '-p', String(periodMs), '-q', ...extra, ...targets]), {
    allowFailure: true, // fping exits 1 when any echo was lost
    timeoutMs: (count * periodMs + 60_000) * 2,
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const rttsMs = new Map<string, (number | undefined)[]>();
  for (const line of stderr.split('\n')) {
    const match = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!match || !targets.includes(match[1]!)) continue;
    rttsMs.set(match[1]!, match[2]!.trim().split(/\s+/).map((v) => (v === '-' ? undefined : Number(v))));
  }
  const field = (name: string) => Number(new RegExp(`${name}: ([0-9.]+)`).exec(stderr)?.[1] ?? Number.NaN);
  if (rttsMs.size === 0) throw new Error(`fping printed no results: ${stderr.slice(0, 2000)}`);
  return {
    rttsMs,
    cpuSeconds: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
    maxRssBytes: field('Maximum resident set size \\(kbytes\\)') * 1024,
    wallSeconds,
  };
}

/** A namespace with only loopback up, named with the lab's prefix so stale ones get cleaned up. */
export async function createLoopbackNamespace(suffix: string): Promise<string> {
  return (await createLabLoopbackNamespace(suffix)).name;
}

export { removeNamespace };

/**
 * The agent's environment as deployed (the Environment= lines of deploy/systemd/linkmon-agent.service,
 * which the container entrypoint repeats: test/deploy/node-options.test.ts), so a bench measures the
 * agent that ships.
 */
export function deployedAgentEnvironment(): Record<string, string> {
  const unit = readFileSync(fileURLToPath(new URL('../deploy/systemd/linkmon-agent.service', import.meta.url)), 'utf8');
  return Object.fromEntries([...unit.matchAll(/^Environment=(\w+)=(.+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** "NAME=value NAME=value", for result notes. */
export function describeEnvironment(env: Record<string, string>): string {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ') || 'no extra environment';
}

export function machineNote(): string {
  return `${cpus().length} CPU (${cpus()[0]?.model ?? 'unknown'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}; shared with other engineers' work`;
}

/** Writes bench/results/<name>.json and .md. */
export function writeResults(name: string, json: unknown, markdown: string): void {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${dir}${name}.md`, markdown);
  console.log(`\nwrote bench/results/${name}.json and .md`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
