// Lab namespace names and removal of labs left behind by crashed test runs. Root required.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { run, runSyncQuietly } from './run.js';

/** Per-namespace files `ip netns exec` bind-mounts over /etc (e.g. resolv.conf; see Lab.setResolver). */
export const netnsEtcDir = (ns: string) => `/etc/netns/${ns}`;

/**
 * Every lab's namespaces start with `lml<owner pid, decimal>x<random><counter, base 36>-`, e.g.
 * `lml48213xq70-wan`. The owner pid lets cleanupStaleLabs() tell a crashed run's leftovers
 * from a lab that another test process (or another engineer) is still using.
 */
const LAB_NAMESPACE = /^lml([0-9]+)x[0-9a-z]+-/;
let labCounter = 0;

export function newLabPrefix(): string {
  const random = (randomBytes(2).readUInt16BE(0) % 1296).toString(36).padStart(2, '0');
  return `lml${process.pid}x${random}${(labCounter++).toString(36)}`;
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list'], { allowFailure: true });
  return parseNetnsList(stdout);
}

function parseNetnsList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.length > 0);
}

/** Kills every process still inside `ns`, then deletes it. */
export async function removeNamespace(ns: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'pids', ns], { allowFailure: true });
  for (const pid of stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run(['ip', 'netns', 'del', ns], { allowFailure: true });
  rmSync(netnsEtcDir(ns), { recursive: true, force: true });
}

/** Synchronous removeNamespace() for exit and signal handlers. */
export function removeNamespaceSync(ns: string): void {
  for (const pid of runSyncQuietly(['ip', 'netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  runSyncQuietly(['ip', 'netns', 'del', ns]);
  rmSync(netnsEtcDir(ns), { recursive: true, force: true });
}

/** Removes the namespaces of labs whose owning process no longer exists. Returns their names. */
export async function cleanupStaleLabs(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((ns) => {
    const owner = LAB_NAMESPACE.exec(ns)?.[1];
    return owner !== undefined && !isAlive(Number(owner));
  });
  for (const ns of stale) await removeNamespace(ns);
  return stale;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
