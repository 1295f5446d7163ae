import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../cli/linkmon.ts', import.meta.url));

export interface LinkmonProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far (pino JSON lines). */
  output: () => string;
  /** Sends SIGTERM and waits for exit; SIGKILL after `graceMs`. Resolves to the exit code. */
  stop: (graceMs?: number) => Promise<number | null>;
}

/**
 * Starts `linkmon <args>` from source (tsx), optionally inside a network namespace via
 * `ip netns exec` (needs root), optionally behind a wrapper command such as setpriv. The caller
 * must call stop(), normally in afterAll/afterEach.
 */
export function startLinkmon(args: string[], options: { netns?: string; env?: NodeJS.ProcessEnv; wrapper?: string[] } = {}): LinkmonProcess {
  const node = [...(options.wrapper ?? []), process.execPath, '--import', 'tsx', CLI, ...args];
  const command = options.netns ? ['ip', 'netns', 'exec', options.netns, ...node] : node;
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    stop: async (graceMs = 5000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Polls `check` every `everyMs` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/**
 * The URL from the agent's start-up log line (`"metrics":"http://…/metrics"`); fails at once if
 * the process exits first, with its output.
 */
export function metricsUrlFromLog(agent: Pick<LinkmonProcess, 'child' | 'output'>, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    'the metrics URL in the agent log',
    () => {
      for (const line of agent.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { metrics?: string };
        if (entry.metrics) return entry.metrics;
      }
      if (agent.child.exitCode !== null) throw new Error(`agent exited ${agent.child.exitCode}:\n${agent.output()}`);
      return undefined;
    },
    timeoutMs,
  );
}
