// Runs system tools (ip, tc, nft, sysctl) for the lab. Root required.
import { execFile, execFileSync } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Resolve with the exit code instead of rejecting when the command fails. */
  allowFailure?: boolean;
  input?: string;
  timeoutMs?: number;
}

/** Runs argv (no shell) and rejects with the command and its stderr when it fails. */
export function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (error && !options.allowFailure) {
        reject(new Error(`${argv.join(' ')} failed (${error.code ?? error.signal ?? 'error'}): ${stderr.trim() || error.message}`));
        return;
      }
      resolve({ stdout, stderr, code });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** `ip netns exec NS argv...` */
export function inNetns(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Synchronous best-effort variant for exit handlers; never throws. */
export function runSyncQuietly(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString();
  } catch {
    return '';
  }
}
