// `linkmon throughput --config FILE [--target NAME] [--stdin]`: runs throughput tests now, outside
// the schedule, and prints each result as one JSON line. With --stdin it stays up and runs one
// direction per input line `<target> <download|upload>` (the lab test and bench drive it like this
// from inside a site's network namespace). Each result carries the CPU seconds this process spent
// on that transfer; the bytes are counted as the agent counts them (linkmon_throughput_test_bytes_total,
// here on a registry of its own), so that figure is the agent's per received byte.
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { loadConfigFile } from '../agent/config/load.js';
import type { AgentConfig } from '../agent/config/schema.js';
import { runThroughputDirection } from '../agent/throughput/run-direction.js';
import { THROUGHPUT_DIRECTIONS, type ThroughputDirection } from '../agent/throughput/directions.js';
import { ThroughputMetrics } from '../agent/throughput/metrics.js';
import { targetLabels } from '../agent/metrics.js';

async function runOne(config: AgentConfig, metrics: ThroughputMetrics, targetName: string, direction: ThroughputDirection, signal: AbortSignal): Promise<object> {
  const target = config.targets.find((t) => t.name === targetName);
  const module = target ? config.modules[target.module] : undefined;
  if (!target || module?.kind !== 'throughput') return { target: targetName, direction, outcome: 'failed', reason: 'error', detail: 'no such throughput target' };
  const cpuBefore = process.cpuUsage();
  const result = await runThroughputDirection(target, module, direction, { signal, onBytes: metrics.bytesCounter(targetLabels(target, 'throughput'), direction) });
  const cpu = process.cpuUsage(cpuBefore);
  return { target: targetName, ...result, agentCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

export interface ThroughputNowOptions {
  /** Only this target (default: every throughput target). */
  target?: string;
  /** Read `<target> <direction>` lines from stdin instead. */
  stdin: boolean;
}

/** Runs until done (or stdin closes, or SIGTERM/SIGINT). */
export async function runThroughputNow(file: string, { target: only, stdin }: ThroughputNowOptions): Promise<void> {
  const config = await loadConfigFile(file);
  const metrics = ThroughputMetrics.forTargets(new Registry(), config.targets);
  const shutdown = new AbortController();
  const input = stdin ? createInterface({ input: process.stdin }) : undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown.abort();
      input?.close();
    });
  }
  const print = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);

  if (input) {
    print({ ready: true });
    for await (const line of input) {
      const [target = '', direction = ''] = line.trim().split(/\s+/);
      if (!(THROUGHPUT_DIRECTIONS as readonly string[]).includes(direction)) print({ target, direction, outcome: 'failed', reason: 'error', detail: 'expected "<target> download|upload"' });
      else print(await runOne(config, metrics, target, direction as ThroughputDirection, shutdown.signal));
    }
    return;
  }
  for (const target of config.targets) {
    const module = config.modules[target.module];
    if (module?.kind !== 'throughput' || (only && target.name !== only)) continue;
    for (const direction of module.directions) print(await runOne(config, metrics, target.name, direction, shutdown.signal));
  }
}
