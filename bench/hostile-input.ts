/**
 * The hostile inputs of issue #13, measured against the code in --root (default: this checkout), so
 * one script gives the figures before (a checkout of main before the fix) and after:
 *   1. slowloris on the responder: 300 connections from 127.0.0.2, one header byte a second, for
 *      35 s; a legitimate client on 127.0.0.1 sends GET /latency 20 times a second on fresh
 *      connections: its success ratio, and how long slow-header connections were held;
 *   2. basic-auth guessing on the agent's /metrics (bcrypt cost 10): 50 clients with a wrong
 *      password for 30 s: the agent's CPU, its log lines about failed logins, answers by status;
 *   3. config files: 10,000 and 1,000 targets, 101 targets sharing an anchored labels map,
 *      /dev/zero and a FIFO as the config: exit code and wall time of `linkmon validate`.
 * Run: npx tsx bench/hostile-input.ts [--root DIR] [--label NAME]. Writes bench/results/hostile-input-<label>.json/.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { killOnProcessExit } from '../test/support/exit-cleanup.js';
import { machineNote, REPO_ROOT, sleep, writeResults } from './icmp-bench-support.js';

const arg = (name: string) => (process.argv.indexOf(name) > 0 ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const ROOT = resolve(arg('--root') ?? REPO_ROOT);
const LABEL = arg('--label') ?? 'after';
const dir = mkdtempSync(join(tmpdir(), 'linkmon-hostile-'));
const machine = machineNote();

interface Started {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

function linkmon(args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/linkmon.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnProcessExit(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function waitForLine<T>(started: Started, pick: (line: string) => T | undefined, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const line of started.output().split('\n')) {
      const found = line.startsWith('{') ? pick(line) : undefined;
      if (found !== undefined) return found;
    }
    if (started.child.exitCode !== null) throw new Error(`exited: ${started.output()}`);
    await sleep(100);
  }
  throw new Error(`timed out: ${started.output()}`);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function slowloris(): Promise<Record<string, number>> {
  const config = join(dir, 'responder.yaml');
  writeFileSync(config, 'listen: { address: 127.0.0.1 }\nhttp: { port: 0 }\ntcp: { enabled: false }\nudp: { enabled: false }\nauth: { token_env: HOSTILE_TOKENS }\n');
  const responder = linkmon(['responder', '--config', config], { HOSTILE_TOKENS: 'hostile-bench-token-0123456789' });
  const port = await waitForLine(responder, (line) => (JSON.parse(line) as { ports?: { http?: number } }).ports?.http);
  const open = new Set<Socket & { drip?: () => void }>();
  const held: number[] = [];
  let stopped = false;
  const text = 'GET /latency HTTP/1.1\r\nHost: responder\r\nX-Padding: ';
  const attack = () => {
    if (stopped) return;
    const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }) as Socket & { drip?: () => void };
    const opened = performance.now();
    let sent = 0;
    socket.on('error', () => {});
    socket.once('connect', () => open.add(socket));
    socket.drip = () => socket.write(text[sent++] ?? 'a');
    socket.once('close', () => {
      if (open.delete(socket)) held.push((performance.now() - opened) / 1000);
      setTimeout(attack, 1000).unref();
    });
  };
  for (let i = 0; i < 300; i++) attack();
  const ticker = setInterval(() => open.forEach((s) => s.drip?.()), 1000);
  let ok = 0;
  let total = 0;
  const until = performance.now() + 35_000;
  while (performance.now() < until) {
    const success = await new Promise<boolean>((done) => {
      const req = request({ host: '127.0.0.1', port, path: '/latency', agent: false, timeout: 5000 }, (res) => {
        res.resume();
        res.once('end', () => done(res.statusCode === 200));
      });
      req.once('timeout', () => req.destroy());
      req.once('error', () => done(false));
      req.end();
    });
    total += 1;
    if (success) ok += 1;
    await sleep(50);
  }
  stopped = true;
  clearInterval(ticker);
  for (const socket of open) socket.destroy();
  await responder.stop();
  const longest = held.filter((s) => s > 1);
  return {
    legitimate_requests: total,
    legitimate_success_ratio: ok / total,
    slow_connections_dropped: longest.length,
    slow_connection_held_min_s: longest.length ? Math.min(...longest) : NaN,
    slow_connection_held_max_s: longest.length ? Math.max(...longest) : NaN,
  };
}

async function basicAuthGuessing(): Promise<Record<string, number>> {
  const web = join(dir, 'web.yml');
  writeFileSync(web, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('right-password', 10)}\n`);
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, 'site: { id: bench, name: Bench }\nlisten: { address: 127.0.0.1, port: 0 }\nmodules:\n  t: { kind: tcp, interval: 1s, timeout: 500ms, port: 1 }\ntargets:\n  - { name: t, module: t, host: 127.0.0.1 }\n');
  const agent = linkmon(['agent', '--config', config, '--web.config.file', web]);
  const url = new URL(await waitForLine(agent, (line) => (JSON.parse(line) as { metrics?: string }).metrics));
  await sleep(2000);
  const cpuBefore = cpuSeconds(agent.child.pid!);
  const linesBefore = agent.output().split('\n').length;
  const statuses: Record<string, number> = {};
  const bad = `Basic ${Buffer.from('prometheus:wrong').toString('base64')}`;
  const until = performance.now() + 30_000;
  const client = async () => {
    while (performance.now() < until) {
      const status = await new Promise<number>((done) => {
        const req = request({ host: url.hostname, port: url.port, path: '/metrics', agent: false, headers: { Authorization: bad } }, (res) => {
          res.resume();
          res.once('end', () => done(res.statusCode ?? 0));
        });
        req.once('error', () => done(0));
        req.end();
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 50 }, client));
  const cpu = cpuSeconds(agent.child.pid!) - cpuBefore;
  const lines = agent.output().split('\n').slice(linesBefore - 1).filter((line) => line.includes('basic auth failed')).length;
  await agent.stop();
  return { agent_cpu_ratio_of_one_core: cpu / 30, failed_login_log_lines: lines, ...Object.fromEntries(Object.entries(statuses).map(([s, n]) => [`answers_${s}`, n])) };
}

async function validate(name: string, file: string): Promise<Record<string, number | string>> {
  const started = performance.now();
  const run = linkmon(['validate', '--config', file]);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((done) => run.child.once('exit', (c) => done(c)));
  clearTimeout(timer);
  const lines = run.output().trim().split('\n');
  return { case: name, exit: code ?? 'killed after 20 s', seconds: Number(((performance.now() - started) / 1000).toFixed(2)), first_line: lines.find((l) => !l.startsWith('linkmon: invalid')) ?? lines[0] ?? '' };
}

function targets(count: number, anchored = false): string {
  const rows = Array.from({ length: count }, (_, i) => `  - { name: t${i}, module: t, host: 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}${anchored ? `, labels: ${i === 0 ? '&common { link: hsl }' : '*common'}` : ''} }`);
  return `site: { id: bench, name: Bench }\nmodules:\n  t: { kind: tcp, port: 22 }\ntargets:\n${rows.join('\n')}\n`;
}

try {
  const files = { t10000: join(dir, 't10000.yaml'), t1000: join(dir, 't1000.yaml'), aliases: join(dir, 'aliases.yaml'), fifo: join(dir, 'config.fifo') };
  writeFileSync(files.t10000, targets(10_000));
  writeFileSync(files.t1000, targets(1000));
  writeFileSync(files.aliases, targets(101, true));
  spawn('mkfifo', [files.fifo]).once('exit', () => undefined);
  await sleep(200);
  const configs = [];
  for (const [name, file] of [['10,000 targets', files.t10000], ['1,000 targets', files.t1000], ['101 targets, one anchored labels map', files.aliases], ['/dev/zero', '/dev/zero'], ['a FIFO', files.fifo]] as const) {
    configs.push(await validate(name, file));
  }
  console.log(configs);
  const loris = await slowloris();
  console.log(loris);
  const auth = await basicAuthGuessing();
  console.log(auth);
  const result = { root: ROOT, label: LABEL, machine, slowloris: loris, basic_auth_guessing: auth, configs };
  writeResults(
    `hostile-input-${LABEL}`,
    result,
    `# Hostile input (${LABEL}): bench/hostile-input.ts --root ${ROOT}\n\n${machine}.\n\n## Slowloris (300 connections from one address, 1 header byte/s, 35 s)\n\n${Object.entries(loris).map(([k, v]) => `- ${k}: ${v}`).join('\n')}\n\n## Basic-auth guessing (50 clients, wrong password, 30 s)\n\n${Object.entries(auth).map(([k, v]) => `- ${k}: ${v}`).join('\n')}\n\n## Config files (linkmon validate)\n\n| case | exit | seconds | output |\n|---|---|---|---|\n${configs.map((c) => `| ${c.case} | ${c.exit} | ${c.seconds} | ${String(c.first_line).slice(0, 140).replace(/\|/g, '\\|')} |`).join('\n')}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
