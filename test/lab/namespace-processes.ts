// Commands, processes and bridges run inside a lab's network namespaces, tracked so the lab that
// owns them can stop them all (lab.ts, router-chain.ts). Root required.
import { spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { killOnProcessExit } from '../support/exit-cleanup.js';
import { bridgeIntoNetns, type NetnsBridge } from '../support/netns-bridge.js';
import { inNetns, run, type RunOptions, type RunResult } from './run.js';

export interface NamespaceProcesses {
  /** Runs argv inside `ns`; rejects when it exits non-zero unless allowFailure. */
  exec(ns: string, argv: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts argv inside `ns`; stopped by stopAll() if still running. */
  spawn(ns: string, argv: string[], options?: SpawnOptions): ChildProcess;
  /** Makes `host:port` inside `ns` reachable from the test process; closed by stopAll(). */
  bridge(ns: string, port: number, host?: string): Promise<NetnsBridge>;
  /** For exit handlers: SIGKILL every child still running. */
  killAll(): void;
  /** Closes the bridges and stops the children (SIGTERM, SIGKILL after 2 s). */
  stopAll(): Promise<void>;
}

export function namespaceProcesses(): NamespaceProcesses {
  const children = new Set<ChildProcess>();
  const bridges = new Set<NetnsBridge>();
  return {
    exec: (ns, argv, options) => run(inNetns(ns, argv), options),
    spawn: (ns, argv, options = {}) => {
      const command = inNetns(ns, argv);
      const child = spawnChild(command[0]!, command.slice(1), options);
      children.add(child);
      killOnProcessExit(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    bridge: async (ns, port, host) => {
      const bridge = await bridgeIntoNetns(ns, port, host);
      bridges.add(bridge);
      return bridge;
    },
    killAll: () => {
      for (const child of children) child.kill('SIGKILL');
    },
    stopAll: async () => {
      await Promise.allSettled([...bridges].map((bridge) => bridge.close()));
      await Promise.allSettled([...children].map((child) => stopChild(child)));
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}
