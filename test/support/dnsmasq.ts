// A real DNS server on loopback for resolver tests: Debian's dnsmasq (package dnsmasq-base),
// answering from a hosts file with a fixed TTL and logging every query it receives.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnProcessExit } from './exit-cleanup.js';
import { waitFor } from './linkmon-process.js';
import { freeLoopbackUdpPort } from './ports.js';

export interface Dnsmasq {
  /** For NameResolver's `servers`, e.g. "127.0.0.1:40123". */
  server: string;
  /** Queries received so far for `name` (any type), or for every name. */
  queries(name?: string): number;
  stop(): Promise<void>;
}

/** Serves `names` (name → IPv4 address) with TTL `ttlSeconds`; anything else is REFUSED (no upstream). */
export async function startDnsmasq(names: Record<string, string>, ttlSeconds: number): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-dnsmasq-'));
  // Started as root, dnsmasq reads its files after dropping to nobody.
  chmodSync(dir, 0o755);
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, Object.entries(names).map(([name, address]) => `${address} ${name}\n`).join(''), { mode: 0o644 });
  const port = await freeLoopbackUdpPort();
  const child = spawn(
    'dnsmasq',
    ['-k', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${port}`, `--addn-hosts=${hosts}`, `--local-ttl=${ttlSeconds}`, '--log-queries', '--log-facility=-', '--pid-file='],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  killOnProcessExit(child);
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('dnsmasq to read its hosts file', () => {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited ${child.exitCode}: ${log}`);
      return log.includes(`read ${hosts}`) ? true : undefined;
    }, 5000, 20);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server: `127.0.0.1:${port}`,
    queries: (name) => log.split('\n').filter((line) => / query\[\w+\] /.test(line) && (name === undefined || line.includes(`] ${name} from`))).length,
    stop,
  };
}
