// Starts Debian's victoria-metrics (single node) on 127.0.0.1:<free port> with its own data directory,
// as the long-term store a Prometheus remote-writes to. Needs the Debian package victoria-metrics.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnProcessExit } from './exit-cleanup.js';
import { freeLoopbackPort } from './ports.js';

export interface VictoriaMetrics {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-vm-'));
  const port = await freeLoopbackPort();
  const child = spawn(
    'victoria-metrics',
    [
      `-storageDataPath=${join(dir, 'data')}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      // The test's history is in the past; keep all of it.
      '-retentionPeriod=100y',
      // Every query must see what was just written, not a cached answer from before.
      '-search.disableCache',
      '-loggerLevel=WARN',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killOnProcessExit(child);
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`victoria-metrics exited before it was ready:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`victoria-metrics not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, output: () => output, stop };
}
