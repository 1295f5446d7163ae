// The Debian package, for real, on this machine: built once (`npm run package:deb`, or the file in
// LINKMON_DEB), checked by lintian, installed with dpkg, its `linkmon` run as the package's user with
// CAP_NET_RAW and nothing else, then removed and purged without leaving a process or a file behind.
//
// Installs into the system (dpkg), so it is not part of `npm test`: `npm run test:package` (.ci/run
// runs it once per CI run). Needs root and the Debian packages dpkg-dev, lintian, binutils,
// util-linux (setpriv) and systemd (systemd-analyze), plus what `npm run package:deb` needs
// (python3, make, g++, the npm registry for Node 24). dpkg runs under /tmp/apt.lock, the lock the
// team's apt-get calls share.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onProcessExit } from '../support/exit-cleanup.js';
import { REPO_ROOT, waitFor } from '../support/linkmon-process.js';
import { parseExposition, sumSamples } from '../support/exposition.js';

const run = promisify(execFile);
const CAP_NET_RAW_MASK = 1n << 13n;
const APP = '/usr/lib/linkmon';
const CONFFILES = ['/etc/default/linkmon-agent', '/etc/default/linkmon-responder', '/etc/linkmon/agent.yaml', '/etc/linkmon/responder.yaml'];

/** dpkg (and apt) share one lock with the team's `flock /tmp/apt.lock apt-get …`. */
const dpkg = (...args: string[]) => run('flock', ['/tmp/apt.lock', 'dpkg', ...args], { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
const asLinkmon = (caps: string[], command: string[]) => ['setpriv', '--reuid=linkmon', '--regid=linkmon', '--init-groups', ...caps, '--', ...command];
const ONLY_NET_RAW = ['--inh-caps=+net_raw', '--ambient-caps=+net_raw', '--bounding-set=-all,+net_raw', '--no-new-privs'];

/** Processes whose executable lives in the package's folder (also once the file is deleted). */
function packageProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readlinkSync(`/proc/${entry}/exe`).startsWith(`${APP}/`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

function capabilities(pid: number): { uid: string; capEff: bigint; capBnd: bigint } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
  return { uid: field('Uid'), capEff: BigInt(`0x${field('CapEff')}`), capBnd: BigInt(`0x${field('CapBnd')}`) };
}

describe('the Debian package', () => {
  let deb: string;
  let files: string[] = [];
  let lintian: Promise<{ stdout: string; stderr: string }>;
  let dir: string;
  let agent: ChildProcess | undefined;

  beforeAll(async () => {
    if ((await run('dpkg-query', ['-W', '-f=${Status}', 'linkmon']).catch(() => ({ stdout: '' }))).stdout.includes('installed')) {
      await dpkg('--purge', 'linkmon'); // a run that died half-way left it behind
    }
    deb = process.env.LINKMON_DEB ?? (await run(join(REPO_ROOT, 'scripts/package-deb.sh'), [], { cwd: REPO_ROOT, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 })).stdout.trim().split('\n').at(-1)!;
    lintian = run('lintian', ['--tag-display-limit', '0', deb], { timeout: 300_000 }).catch((err: { stdout: string; stderr: string }) => err);
    dir = mkdtempSync(join(tmpdir(), 'linkmon-deb-test-'));
    chmodSync(dir, 0o755);
  }, 900_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    if ((await run('dpkg-query', ['-W', '-f=${Status}', 'linkmon']).catch(() => ({ stdout: '' }))).stdout.includes('installed')) await dpkg('--purge', 'linkmon');
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('installs with dpkg -i: the user exists, nothing is started or enabled, and the runtime is Node 24', async () => {
    await dpkg('-i', deb);
    files = (await run('dpkg', ['-L', 'linkmon'])).stdout.split('\n').filter((f) => f !== '');
    const user = (await run('getent', ['passwd', 'linkmon'])).stdout.split(':');
    expect(Number(user[2])).toBeLessThan(1000);
    expect(user[6]!.trim()).toBe('/usr/sbin/nologin');
    expect(packageProcesses()).toEqual([]);
    for (const unit of ['multi-user.target.wants/linkmon-agent.service', 'multi-user.target.wants/linkmon-responder.service', 'timers.target.wants/linkmon-report.timer']) {
      expect(existsSync(`/etc/systemd/system/${unit}`), unit).toBe(false);
    }
    expect(readFileSync('/var/lib/dpkg/info/linkmon.conffiles', 'utf8').trim().split('\n').sort()).toEqual(CONFFILES);
    expect((await run('/usr/bin/linkmon', ['--version'])).stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
    expect((await run(`${APP}/bin/node`, ['--version'])).stdout).toMatch(/^v24\./);
    // The installed units, with their real ExecStart, pass systemd's own check.
    const units = ['linkmon-agent.service', 'linkmon-responder.service', 'linkmon-report.service', 'linkmon-report.timer'].map((unit) => `/lib/systemd/system/${unit}`);
    const verify = await run('systemd-analyze', ['verify', ...units]).catch((err: { stderr: string; code: number }) => err);
    expect(verify.stderr).toBe('');
  });

  it('validates both default configs as the linkmon user', async () => {
    for (const file of ['/etc/linkmon/agent.yaml', '/etc/linkmon/responder.yaml']) {
      const [command, ...args] = asLinkmon(ONLY_NET_RAW, ['/usr/bin/linkmon', 'validate', '--config', file]);
      const { stdout } = await run(command!, args);
      expect(stdout).toMatch(new RegExp(`^${file}: valid`));
    }
  });

  it('runs the agent as linkmon with CAP_NET_RAW and nothing else: ICMP works, on the kernel-timestamp addon', async () => {
    const config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      readFileSync('/etc/linkmon/agent.yaml', 'utf8').replace(/port: 9470/, 'port: 0').replace(/address: 0\.0\.0\.0/, 'address: 127.0.0.1').replace(/interval: 10s, packets: 10, timeout: 2s/, 'interval: 1s, packets: 5, timeout: 500ms'),
    );
    const command = asLinkmon(ONLY_NET_RAW, ['/usr/bin/linkmon', 'agent', '--config', config, '--log.format', 'json']);
    agent = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const unregister = onProcessExit(() => agent?.kill('SIGKILL'));
    let output = '';
    agent.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const url = await waitFor('the metrics URL', () => /"metrics":"(http:[^"]+)"/.exec(output)?.[1] ?? (agent!.exitCode !== null ? Promise.reject(new Error(output)) : undefined), 30_000);
      const samples = await waitFor(
        'ICMP replies',
        async () => {
          const parsed = parseExposition(await (await fetch(url)).text());
          return sumSamples(parsed, 'linkmon_probe_duration_seconds_count', { target: 'loopback' }) > 0 ? parsed : undefined;
        },
        30_000,
        250,
      );
      expect(sumSamples(samples, 'linkmon_prober_available', { kind: 'icmp' })).toBe(1);
      expect(sumSamples(samples, 'linkmon_probe_success', { target: 'loopback' })).toBe(1);
      expect(output).toContain('"timestamps":"kernel"');
      const [pid] = packageProcesses();
      expect(capabilities(pid!)).toEqual({ uid: (await run('id', ['-u', 'linkmon'])).stdout.trim(), capEff: CAP_NET_RAW_MASK, capBnd: CAP_NET_RAW_MASK });
    } finally {
      agent.kill('SIGTERM');
      await new Promise((resolve) => (agent!.exitCode !== null ? resolve(null) : agent!.once('exit', resolve)));
      unregister();
    }
  });

  it('dpkg -r leaves no process and no file but the conffiles; purge removes those too', async () => {
    await dpkg('-r', 'linkmon');
    expect(packageProcesses()).toEqual([]);
    const left = files.filter((file) => existsSync(file) && !statSync(file).isDirectory());
    expect(left.sort()).toEqual(CONFFILES);
    expect(existsSync(APP)).toBe(false);
    await dpkg('--purge', 'linkmon');
    expect(files.filter((file) => existsSync(file) && !statSync(file).isDirectory())).toEqual([]);
    expect(existsSync('/etc/linkmon')).toBe(false);
    // What the maintainer scripts registered with systemd's package helper goes too.
    const helperState = '/var/lib/systemd/deb-systemd-helper-enabled';
    expect(existsSync(helperState) ? (readdirSync(helperState, { recursive: true }) as string[]).filter((f) => f.includes('linkmon')) : []).toEqual([]);
    expect((await run('dpkg-query', ['-W', '-f=${Status}', 'linkmon']).catch(() => ({ stdout: 'not installed' }))).stdout).not.toContain('installed ok');
  });

  it('has no lintian error', async () => {
    const { stdout, stderr } = await lintian;
    const tags = `${stdout}${stderr}`.split('\n').filter((line) => /^[EWIPX]: /.test(line));
    expect(tags.filter((line) => line.startsWith('E: '))).toEqual([]);
    expect(tags.filter((line) => line.startsWith('W: '))).toEqual([]);
  });
});
