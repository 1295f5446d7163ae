// A throughput setup on the network lab, shared by the lab test and bench/throughput-vs-iperf3.ts:
// the real responder (`linkmon responder --config`) in the dc namespace and the agent's
// throughput code (`linkmon throughput --stdin`) in site 1, driven one direction at a time.
// Needs root and the lab's Debian packages.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { DirectionTestResult } from '../../../agent/throughput/run-direction.js';
import type { ThroughputDirection } from '../../../agent/throughput/directions.js';
import { REPO_ROOT, waitFor } from '../../support/linkmon-process.js';
import { makeRealtime } from '../../lab/realtime.js';
import type { Lab } from '../../lab/lab.js';

export const RESPONDER_PORT = 9480;
/** The bearer token the lab's responder accepts. */
export const LAB_TOKEN = 'lab-throughput-token-0123456789';

export interface ThroughputSettings {
  /** Transfer time per direction, warm-up included, e.g. "3s". */
  duration: string;
  warmup: string;
  streams?: number;
  /**
   * Run the responder and the agent's runner at real-time priority once they have loaded
   * (makeRealtime), as the lab runs its reference tools (test/lab/README.md): on a busy box the
   * measurement is then the link's.
   */
  realtime?: boolean;
}

export type MeasuredResult = DirectionTestResult & { agentCpuSeconds: number };

export interface ThroughputLab {
  responderPid: number;
  /** Runs one direction of the `dc` target from site 1. */
  measure(direction: ThroughputDirection): Promise<MeasuredResult>;
  /** CPU seconds (user + system) the responder process has used so far. */
  responderCpuSeconds(): number;
  stop(): Promise<void>;
}

const TSX = [process.execPath, '--import', 'tsx'];
export async function startThroughputLab(lab: Lab, settings: ThroughputSettings): Promise<ThroughputLab> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-tp-lab-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const token = LAB_TOKEN;
    writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, 'responder.yaml'),
      [
        `listen: { address: ${lab.dcAddress()} }`,
        `http: { port: ${RESPONDER_PORT} }`,
        'tcp: { enabled: false }',
        'udp: { enabled: false }',
        `auth: { token_file: ${join(dir, 'token')} }`,
        'limits: { max_bytes: 20GiB, max_seconds: 60s, max_concurrent: 8 }',
        'log: { level: info }',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'agent.yaml'),
      [
        'site: { id: lab_site, name: Lab site }',
        'modules:',
        `  tp: { kind: throughput, schedule: "0 0 1 1 *", duration: ${settings.duration}, warmup: ${settings.warmup}, streams: ${settings.streams ?? 1}, max_bytes: 20GB, timeout: 5s, busy_retries: 0, token_file: ${join(dir, 'token')} }`,
        'targets:',
        `  - { name: dc, module: tp, url: "http://${lab.dcAddress()}:${RESPONDER_PORT}/" }`,
      ].join('\n'),
    );

    const responder = lab.spawn(lab.dc, [...TSX, join(REPO_ROOT, 'cli/linkmon.ts'), 'responder', '--config', join(dir, 'responder.yaml')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(responder);
    let responderOutput = '';
    responder.stdout?.on('data', (d: Buffer) => (responderOutput += d.toString()));
    responder.stderr?.on('data', (d: Buffer) => (responderOutput += d.toString()));
    const responderExited = new Promise<never>((_, reject) => responder.once('exit', (code) => reject(new Error(`responder exited (${code}): ${responderOutput}`))));
    await Promise.race([waitFor('the responder to listen', () => (responderOutput.includes('listening') ? true : undefined), 20_000), responderExited]);

    const runner = lab.spawn(lab.site(1), [...TSX, join(REPO_ROOT, 'cli/linkmon.ts'), 'throughput', '--config', join(dir, 'agent.yaml'), '--stdin'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(runner);
    let runnerErrors = '';
    runner.stderr?.on('data', (d: Buffer) => (runnerErrors += d.toString()));
    const lines = createInterface({ input: runner.stdout! });
    const nextLine = lineReader(lines, () => `runner exited: ${runnerErrors}`);
    await nextLine(20_000);
    if (settings.realtime) for (const child of [responder, runner]) await makeRealtime(child.pid!);

    return {
      responderPid: responder.pid!,
      measure: async (direction) => {
        runner.stdin!.write(`dc ${direction}\n`);
        return JSON.parse(await nextLine(120_000)) as MeasuredResult;
      },
      responderCpuSeconds: () => processCpuSeconds(responder.pid!),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function lineReader(lines: Interface, whyClosed: () => string): (timeoutMs: number) => Promise<string> {
  const queue: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let closed = false;
  lines.on('line', (line) => (waiting.length > 0 ? waiting.shift()!(line) : queue.push(line)));
  lines.on('close', () => {
    closed = true;
    for (const resolve of waiting.splice(0)) resolve(undefined);
  });
  return (timeoutMs) =>
    new Promise((resolve, reject) => {
      if (queue.length > 0) return resolve(queue.shift()!);
      if (closed) return reject(new Error(whyClosed()));
      const timer = setTimeout(() => reject(new Error(`no answer from the runner within ${timeoutMs} ms`)), timeoutMs);
      waiting.push((line) => {
        clearTimeout(timer);
        if (line === undefined) reject(new Error(whyClosed()));
        else resolve(line);
      });
    });
}

/** utime + stime of a live process from /proc (clock ticks of 1/100 s on Linux). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

