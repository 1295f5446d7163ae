// A real Debian `snmpd` (net-snmp) inside a lab namespace, serving that namespace's own interfaces.
// Needs root and the Debian packages snmpd and snmp (snmpget/snmpset), see scripts/test-host-setup.sh.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../lab/lab.js';
import { waitFor } from './linkmon-process.js';

export interface SnmpdOptions {
  lab: Lab;
  ns: string;
  /** Addresses snmpd listens on (besides 127.0.0.1), with `port`. */
  addresses: string[];
  port: number;
  /** Read-only community, accepted from `clients` (CIDR). */
  community: string;
  clients: string;
  /** An authPriv SHA/AES user. */
  v3?: { user: string; authPassword: string; privPassword: string };
}

export interface Snmpd {
  /** Stops snmpd (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again with the same persistent state (v3 engine boots go up, sysUpTime restarts). */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a device that answers late (requests queue, answers come after the poller gave up). */
  pause(paused: boolean): void;
  /** snmpset through the loopback-only read-write community. */
  set(oid: string, type: 'i' | 's', value: string | number): Promise<void>;
  /** Removes the temp dir; call after the lab is destroyed. */
  cleanup(): void;
}

/** NET-SNMP-AGENT-MIB::nsCacheTimeout for ifTable (ifXTable shares its cache): 3 s by default. */
const IF_TABLE_CACHE_TIMEOUT = '1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2';
const RW_COMMUNITY = 'lab-rw';

export async function startSnmpd(options: SnmpdOptions): Promise<Snmpd> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-snmpd-'));
  const persistent = join(dir, 'persist');
  mkdirSync(persistent);
  const conf = join(dir, 'snmpd.conf');
  const listen = ['127.0.0.1', ...options.addresses].map((a) => `udp:${a}:${options.port}`).join(',');
  writeFileSync(
    conf,
    [
      `agentAddress ${listen}`,
      `rocommunity ${options.community} ${options.clients}`,
      `rwcommunity ${RW_COMMUNITY} 127.0.0.1`,
      // Like a router: an interface re-created under the same name replaces the old entry at once.
      'interface_replace_old yes',
      ...(options.v3
        ? [`createUser ${options.v3.user} SHA "${options.v3.authPassword}" AES "${options.v3.privPassword}"`, `rouser ${options.v3.user} priv`]
        : []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const local = `127.0.0.1:${options.port}`;

  const snmpset = async (oid: string, type: 'i' | 's', value: string | number) => {
    await options.lab.exec(options.ns, ['snmpset', '-v2c', '-c', RW_COMMUNITY, '-t', '1', '-r', '2', '-On', local, oid, type, String(value)]);
  };

  const start = async () => {
    // -C: only this config file; -Lo: log to stdout; state (v3 users, engine boots) in our own dir.
    child = options.lab.spawn(options.ns, ['snmpd', '-f', '-Lo', '-C', '-c', conf, '-p', join(dir, 'snmpd.pid')], {
      env: { ...process.env, SNMP_PERSISTENT_DIR: persistent, MIBS: '' },
      stdio: 'ignore',
    });
    await waitFor(
      'snmpd to answer',
      async () => {
        const { code } = await options.lab.exec(options.ns, ['snmpget', '-v2c', '-c', RW_COMMUNITY, '-t', '0.3', '-r', '0', '-On', local, '1.3.6.1.2.1.1.3.0'], { allowFailure: true });
        return code === 0 ? true : undefined;
      },
      10_000,
      200,
    );
    // Live counters: otherwise snmpd answers from a 3-second cache and a 1-second poll sees steps.
    await snmpset(IF_TABLE_CACHE_TIMEOUT, 'i', 0);
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  const pause = (paused: boolean) => void child?.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  return { stop, start, pause, set: snmpset, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** rx and tx byte counters of an interface in a namespace, as the kernel counts them. */
export async function kernelBytes(lab: Lab, ns: string, iface: string): Promise<{ rx: number; tx: number }> {
  const { stdout } = await lab.exec(ns, ['cat', `/sys/class/net/${iface}/statistics/rx_bytes`, `/sys/class/net/${iface}/statistics/tx_bytes`]);
  const [rx, tx] = stdout.trim().split('\n').map(Number);
  return { rx: rx!, tx: tx! };
}
