// Runs throughput tests now, outside the schedule, and prints each result as one JSON line:
//   node --import tsx agent/throughput/run-now.ts --config FILE [--target NAME]
// With --stdin it stays up and runs one direction per input line `<target> <download|upload>`
// (the lab test and bench drive it like this from inside a site's network namespace). Each
// result carries the CPU seconds this process spent on that transfer.
import { createInterface } from 'node:readline';
import { loadConfigFile } from '../config/load.js';
import type { AgentConfig } from '../config/schema.js';
import { runThroughputDirection, THROUGHPUT_DIRECTIONS, type ThroughputDirection } from '../probes/throughput.js';

async function runOne(config: AgentConfig, targetName: string, direction: ThroughputDirection, signal: AbortSignal): Promise<object> {
  const target = config.targets.find((t) => t.name === targetName);
  const module = target ? config.modules[target.module] : undefined;
  if (!target || module?.kind !== 'throughput') return { target: targetName, direction, outcome: 'failed', reason: 'error', detail: 'no such throughput target' };
  const cpuBefore = process.cpuUsage();
  const result = await runThroughputDirection(target, module, direction, { signal });
  const cpu = process.cpuUsage(cpuBefore);
  return { target: targetName, ...result, agentCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function main(argv: string[]): Promise<number> {
  const option = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const file = option('--config');
  if (!file) {
    process.stderr.write('usage: run-now.ts --config FILE [--target NAME] [--stdin]\n');
    return 2;
  }
  const config = await loadConfigFile(file);
  const shutdown = new AbortController();
  const input = argv.includes('--stdin') ? createInterface({ input: process.stdin }) : undefined;
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
      else print(await runOne(config, target, direction as ThroughputDirection, shutdown.signal));
    }
    return 0;
  }
  const only = option('--target');
  for (const target of config.targets) {
    const module = config.modules[target.module];
    if (module?.kind !== 'throughput' || (only && target.name !== only)) continue;
    for (const direction of module.directions) print(await runOne(config, target.name, direction, shutdown.signal));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
