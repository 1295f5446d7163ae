import type { ChildProcess } from 'node:child_process';

/**
 * Synchronous last-resort cleanups for when a test process ends without reaching its
 * afterAll (crash, process.exit, Ctrl-C). Normal cleanup stays in afterAll/stop(); these only
 * catch what is left. Signals are re-raised after cleaning up so the exit status is unchanged.
 */
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // best effort: the process is ending anyway
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll();
      process.kill(process.pid, signal);
    });
  }
}

/** Registers a synchronous cleanup; returns a function that unregisters it (call it after normal cleanup). */
export function onProcessExit(cleanup: () => void): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** SIGKILLs `child` if the test process ends while it still runs. */
export function killOnProcessExit(child: ChildProcess): void {
  const unregister = onProcessExit(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  child.once('exit', unregister);
}

/**
 * Returns stop() for a child the test started: SIGTERM, SIGKILL if it has not exited within
 * `graceMs`, resolved once it has exited. Until then killOnProcessExit() covers a crash.
 */
export function gracefulStop(child: ChildProcess, graceMs = 3000): () => Promise<void> {
  killOnProcessExit(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
}
