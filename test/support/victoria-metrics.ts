// Starts Debian's victoria-metrics (single node) on 127.0.0.1:<free port> with its own data directory,
// as the long-term store a Prometheus remote-writes to. Needs the Debian package victoria-metrics.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './prometheus.js';

export async function startVictoriaMetrics(): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-vm-'));
  return startDaemon({
    name: 'victoria-metrics',
    dir,
    argv: (listen) => [
      'victoria-metrics',
      `-storageDataPath=${join(dir, 'data')}`,
      `-httpListenAddr=${listen}`,
      // The test's history is in the past; keep all of it.
      '-retentionPeriod=100y',
      // Every query must see what was just written, not a cached answer from before.
      '-search.disableCache',
      '-loggerLevel=WARN',
    ],
  });
}
