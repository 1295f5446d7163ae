// The memory floor of a Node agent (issue #16): the RSS of fresh Node processes that only load what an
// ICMP-only agent must load — bare `node`, then + pino, zod, yaml, prom-client and an idle node:http
// server; then the same libraries each used once (bench/lib/library-floor.ts), as npm ships them and
// bundled as the build bundles the agent (scripts/bundle.mjs) — with and without the deployed
// environment (NODE_OPTIONS, MALLOC_ARENA_MAX), next to the agent itself for comparison in
// bench/results/memory.md. Each variant runs `--runs` times in fresh
// processes at the same time; each is read 5 s after it loaded (after a forced GC), median reported.
// RssAnon / RssFile from /proc/<pid>/status: the file pages are mostly the node executable's.
// Usage: npx tsx bench/node-floor.ts [--runs 3]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compiledPath, compileForBench, deployedAgentEnvironment, describeEnvironment, machineNote, REPO_ROOT, runBundler, sleep, writeResults } from './icmp-bench-support.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const MiB = 1024 * 1024;

const LIBRARIES = "await Promise.all(['pino', 'zod', 'yaml', 'prom-client'].map((m) => import(m))); (await import('node:http')).createServer().listen(0, '127.0.0.1');";
const LIBRARY_FLOOR = 'bench/lib/library-floor.ts';
const bundleDir = mkdtempSync(join(tmpdir(), 'linkmon-node-floor-'));
await compileForBench([LIBRARY_FLOOR]);
await runBundler(['--outdir', bundleDir, '--entry', LIBRARY_FLOOR]);
const VARIANTS = [
  { name: 'bare node', code: '' },
  { name: 'node + pino, zod, yaml, prom-client, an idle node:http server', code: LIBRARIES },
  { name: 'the same, each used once (library-floor.ts), as npm ships them', code: `await import(${JSON.stringify(compiledPath(LIBRARY_FLOOR))});` },
  { name: 'the same, each used once, bundled as the build bundles the agent', code: `await import(${JSON.stringify(join(bundleDir, LIBRARY_FLOOR.replace(/\.ts$/, '.js')))});` },
];
const SETTLE = 'setTimeout(() => { globalThis.gc?.(); process.stdout.write("ready\\n"); }, 5000); setInterval(() => {}, 1000);';

interface Reading {
  rss: number;
  rssAnon: number;
  rssFile: number;
}

async function measure(code: string, env: Record<string, string>): Promise<Reading> {
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', `${code} ${SETTLE}`], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`exited ${code} before it was read`)));
    });
    await sleep(200);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
    return { rss: kib('VmRSS'), rssAnon: kib('RssAnon'), rssFile: kib('RssFile') };
  } finally {
    child.kill();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const environments = [
  { name: 'plain', env: {} as Record<string, string> },
  { name: describeEnvironment(deployedAgentEnvironment()), env: deployedAgentEnvironment() },
];
const loadAtStart = loadavg();
const rows = [];
for (const environment of environments) {
  for (const variant of VARIANTS) {
    const readings = await Promise.all(Array.from({ length: runs }, () => measure(variant.code, environment.env)));
    rows.push({ variant: variant.name, environment: environment.name, rssMiB: median(readings.map((r) => r.rss)) / MiB, anonMiB: median(readings.map((r) => r.rssAnon)) / MiB, fileMiB: median(readings.map((r) => r.rssFile)) / MiB, readings });
  }
}
const loadAtEnd = loadavg();
rmSync(bundleDir, { recursive: true, force: true });
const markdown = [
  '# The Node floor: what an ICMP-only agent must load, idle and used once',
  '',
  `\`npx tsx bench/node-floor.ts --runs ${runs}\`: fresh processes, ${runs} of each at the same time, read 5 s after loading (after a forced GC); median. MiB = 2^20 bytes.`,
  `Load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} at end. Machine: ${machineNote()}.`,
  '',
  '| process | environment | RSS MiB | anon MiB | file MiB |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.variant} | ${r.environment} | **${r.rssMiB.toFixed(1)}** | ${r.anonMiB.toFixed(1)} | ${r.fileMiB.toFixed(1)} |`),
  '',
].join('\n');
console.log(markdown);
writeResults('node-floor', { machine: machineNote(), load: { atStart: loadAtStart, atEnd: loadAtEnd }, runs, rows }, markdown);
