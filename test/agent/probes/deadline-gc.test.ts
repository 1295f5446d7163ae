// Node issue 57736: a deadline held only weakly is lost to garbage collection. Runs the TCP and
// HTTP probers in a child process under --expose-gc with forced collections against a port whose
// SYNs go unanswered (test/support/syn-sink.ts, Debian package python3).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSynSink, type SynSink } from '../../support/syn-sink.js';

const RUNNER = fileURLToPath(new URL('./gc-probe-runner.ts', import.meta.url));
const PROBES = 4;
const TIMEOUT_SECONDS = 0.25;

/** The runner's result lines; a runner still waiting after `guardMs` is killed and what it printed so far is returned. */
function runProbes(kind: 'tcp' | 'http', port: number, guardMs: number): Promise<Array<{ ok: boolean; reason?: string }>> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', RUNNER, JSON.stringify({ kind, port, timeoutSeconds: TIMEOUT_SECONDS, count: PROBES })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
  return new Promise((resolve) =>
    child.once('exit', () => {
      clearTimeout(guard);
      resolve(output.split('\n').filter(Boolean).map((line) => {
        const { ok, reason } = JSON.parse(line) as { ok: boolean; reason?: string };
        return { ok, reason };
      }));
    }),
  );
}

describe('probe deadlines under forced garbage collection', () => {
  let sink: SynSink;
  beforeAll(async () => {
    sink = await startSynSink();
  });
  afterAll(() => sink.close());

  // The guard only bounds a broken run: loading tsx takes a few seconds, the probes ~1 s; the kernel would take ~127 s per probe.
  it.each(['tcp', 'http'] as const)('%s: every attempt to a host that drops SYNs fails with reason timeout', async (kind) => {
    const results = await runProbes(kind, sink.port, 20_000);
    expect(results).toEqual(Array.from({ length: PROBES }, () => ({ ok: false, reason: 'timeout' })));
  });
});
