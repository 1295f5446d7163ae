// Checks the systemd units: least-privilege settings by parsing, and `systemd-analyze verify`
// (Debian package systemd, in scripts/test-host-setup.sh; it runs without systemd as PID 1).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReportArgs } from '../../report/args.js';

const DIR = join(import.meta.dirname, '../../deploy/systemd');
const UNITS = ['linkmon-agent.service', 'linkmon-responder.service'];
const REPORT_UNITS = ['linkmon-report.service', 'linkmon-report.timer'];

/** section → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    expect(pair, `not a key=value line: ${line}`).not.toBeNull();
    expect(current, `${line} outside a section`).toBeDefined();
    current!.set(pair![1]!, [...(current!.get(pair![1]!) ?? []), pair![2]!]);
  }
  return sections;
}

/** Every linkmon unit: no privilege gain, a read-only system, no home, private /tmp and /dev. */
const HARDENED = [
  ['NoNewPrivileges', 'yes'],
  ['ProtectSystem', 'strict'],
  ['ProtectHome', 'yes'],
  ['PrivateTmp', 'yes'],
  ['PrivateDevices', 'yes'],
] as const;

const unit = (name: string) => parseUnit(readFileSync(join(DIR, name), 'utf8'));
const service = (name: string) => unit(name).get('Service')!;
const value = (name: string, key: string) => service(name).get(key)?.at(-1);

describe('systemd units', () => {
  it.each(UNITS)('%s runs as the dedicated user, hardened', (name) => {
    expect(value(name, 'User')).toBe('linkmon');
    expect(value(name, 'Group')).toBe('linkmon');
    expect(value(name, 'DynamicUser')).toBeUndefined();
    for (const [key, expected] of [...HARDENED, ['Restart', 'on-failure'], ['RestartPreventExitStatus', '2']] as const) {
      expect(value(name, key), key).toBe(expected);
    }
    // /usr/bin/linkmon: the Debian package's launcher for its bundled Node.js (deploy/debian/linkmon.sh).
    expect(value(name, 'ExecStart')).toMatch(/^\/usr\/bin\/linkmon (agent|responder) --config \/etc\/linkmon\/\S+\.yaml \$LINKMON_OPTS$/);
    expect(unit(name).get('Unit')?.get('Documentation')).toEqual(['file:///usr/share/doc/linkmon/deploy.md']);
    expect(value(name, 'ReadWritePaths')).toBeUndefined();
    expect(unit(name).get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('the agent gets CAP_NET_RAW and no other capability, and reloads on SIGHUP', () => {
    const agent = 'linkmon-agent.service';
    expect(value(agent, 'AmbientCapabilities')).toBe('CAP_NET_RAW');
    expect(value(agent, 'CapabilityBoundingSet')).toBe('CAP_NET_RAW');
    expect(value(agent, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('the responder gets no capability and no SIGHUP (it would end the process)', () => {
    const responder = 'linkmon-responder.service';
    expect(value(responder, 'AmbientCapabilities')).toBe('');
    expect(value(responder, 'CapabilityBoundingSet')).toBe('');
    expect(value(responder, 'ExecReload')).toBeUndefined();
  });

  it('the monthly report runs once as the dedicated user, hardened, writing only its state directory', () => {
    const report = 'linkmon-report.service';
    expect(value(report, 'Type')).toBe('oneshot');
    expect(value(report, 'User')).toBe('linkmon');
    expect(value(report, 'Group')).toBe('linkmon');
    for (const [key, expected] of [...HARDENED, ['AmbientCapabilities', ''], ['CapabilityBoundingSet', ''], ['StateDirectory', 'linkmon-reports']] as const) {
      expect(value(report, key), key).toBe(expected);
    }
    expect(value(report, 'ReadWritePaths')).toBeUndefined();
    expect(unit(report).get('Install')).toBeUndefined();
    const starts = service(report).get('ExecStart')!;
    expect(starts.map((line) => /--format (\w+)/.exec(line)?.[1])).toEqual(['html', 'csv']);
    for (const line of starts) {
      const [node, cli, ...args] = line.split(' ');
      expect([node, cli]).toEqual(['/usr/bin/linkmon', 'report']);
      // The options the unit passes are the report's own, into the state directory.
      const argv = args.filter((a) => a !== '$LINKMON_REPORT_OPTS').map((a) => a.replace('${LINKMON_REPORT_PROMETHEUS}', 'http://prometheus:9090'));
      expect(parseReportArgs(argv, Date.now() / 1000).out).toEqual({ dir: '/var/lib/linkmon-reports' });
    }
  });

  it('the report timer fires on the 1st of each month, and catches up after downtime', () => {
    const timer = unit('linkmon-report.timer');
    expect(timer.get('Timer')?.get('OnCalendar')).toEqual(['*-*-01 06:00:00']);
    expect(timer.get('Timer')?.get('Persistent')).toEqual(['true']);
    expect(timer.get('Timer')?.get('Unit')).toEqual(['linkmon-report.service']);
    expect(timer.get('Install')?.get('WantedBy')).toEqual(['timers.target']);
    const next = spawnSync('systemd-analyze', ['calendar', '--iterations=3', '*-*-01 06:00:00'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, TZ: 'UTC' } });
    const elapses = [...next.stdout.matchAll(/(\d{4}-\d{2}-(\d{2}) 06:00:00)/g)].map((m) => m[2]);
    expect(elapses, next.stdout).toEqual(['01', '01', '01']);
  });

  it("the cron line of docs/capacity.md runs the report on the 1st of each month with the report's own options", () => {
    const docs = readFileSync(join(DIR, '../../docs/capacity.md'), 'utf8');
    const line = docs.split('\n').find((l) => l.startsWith('0 6 1 * * '));
    expect(line, 'a cron line in docs/capacity.md').toBeDefined();
    const [, , , , , user, linkmon, command, ...args] = line!.split(' ');
    expect([user, linkmon, command]).toEqual(['linkmon', '/usr/bin/linkmon', 'report']);
    expect(parseReportArgs(args, Date.now() / 1000)).toMatchObject({ format: 'html', out: { dir: '/var/lib/linkmon-reports' } });
  });

  it('systemd-analyze verify accepts every unit without a warning', () => {
    // verify also checks that ExecStart's binary exists: point it at the launcher's source when the
    // package is not installed (test/package/ verifies the installed units as they are).
    const dir = mkdtempSync(join(tmpdir(), 'linkmon-units-'));
    try {
      const all = [...UNITS, ...REPORT_UNITS];
      for (const name of all) writeFileSync(join(dir, name), readFileSync(join(DIR, name), 'utf8').replaceAll('/usr/bin/linkmon ', `${join(DIR, '../debian/linkmon.sh')} `));
      const result = spawnSync('systemd-analyze', ['verify', ...all.map((u) => `./${u}`)], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(result.error).toBeUndefined();
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sysusers.d snippet creates the linkmon system user', () => {
    const lines = readFileSync(join(DIR, 'linkmon.sysusers.conf'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lines).toEqual([expect.stringMatching(/^u linkmon - ".+" \/nonexistent \/usr\/sbin\/nologin$/)]);
  });
});
