// Checks the systemd units: least-privilege settings by parsing, and `systemd-analyze verify`
// (Debian package systemd, in scripts/test-host-setup.sh; it runs without systemd as PID 1).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '../../deploy/systemd');
const UNITS = ['linkmon-agent.service', 'linkmon-responder.service'];

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

const unit = (name: string) => parseUnit(readFileSync(join(DIR, name), 'utf8'));
const service = (name: string) => unit(name).get('Service')!;
const value = (name: string, key: string) => service(name).get(key)?.at(-1);

describe('systemd units', () => {
  it.each(UNITS)('%s runs as the dedicated user, hardened', (name) => {
    expect(value(name, 'User')).toBe('linkmon');
    expect(value(name, 'Group')).toBe('linkmon');
    expect(value(name, 'DynamicUser')).toBeUndefined();
    for (const [key, expected] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['Restart', 'on-failure'],
      ['RestartPreventExitStatus', '2'],
    ] as const) {
      expect(value(name, key), key).toBe(expected);
    }
    expect(value(name, 'ExecStart')).toMatch(/^\/usr\/bin\/node \/opt\/linkmon\/dist\/cli\/linkmon\.js (agent|responder) --config \/etc\/linkmon\/\S+\.yaml \$LINKMON_OPTS$/);
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

  it('systemd-analyze verify accepts both units without a warning', () => {
    // verify also checks that ExecStart's binary exists: point it at this machine's node if it lives elsewhere.
    const dir = mkdtempSync(join(tmpdir(), 'linkmon-units-'));
    try {
      for (const name of UNITS) writeFileSync(join(dir, name), readFileSync(join(DIR, name), 'utf8').replaceAll('/usr/bin/node ', `${process.execPath} `));
      const result = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => `./${u}`)], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
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
