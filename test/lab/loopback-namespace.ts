// A namespace with nothing but loopback, for tests and benches that need a private network stack
// (own ports, own sysctls) rather than the lab's WAN. Root required (iproute2).
import { onProcessExit } from '../support/exit-cleanup.js';
import { newLabPrefix, removeNamespace, removeNamespaceSync } from './naming.js';
import { run } from './run.js';

export interface LoopbackNamespace {
  name: string;
  /** Kills what still runs inside and deletes the namespace. */
  remove(): Promise<void>;
}

/**
 * Creates `<lab prefix>-<suffix>` with lo up (so cleanupStaleLabs() removes it after a crash, and an
 * exit handler does if this process dies first). `pingGroupRange` sets the namespace's own
 * net.ipv4.ping_group_range (the kernel's default in a new namespace is "1 0": no group may open
 * ping sockets), leaving the host's alone.
 */
export async function createLoopbackNamespace(suffix: string, options: { pingGroupRange?: string } = {}): Promise<LoopbackNamespace> {
  const name = `${newLabPrefix()}-${suffix}`;
  const unregister = onProcessExit(() => removeNamespaceSync(name));
  await run(['ip', 'netns', 'add', name]);
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  if (options.pingGroupRange !== undefined) await run(['ip', 'netns', 'exec', name, 'sysctl', '-qw', `net.ipv4.ping_group_range=${options.pingGroupRange}`]);
  return {
    name,
    remove: async () => {
      await removeNamespace(name);
      unregister();
    },
  };
}
