// The production build (scripts/bundle.mjs, what `npm run build`, the Dockerfile and the Debian
// package run), built into a scratch folder laid out as installed (package.json beside dist/):
// the cli runs from it, an agent started from it loads the chunks of net-snmp and undici only once
// a config uses SNMP or HTTP (code splitting keeps the dynamic imports lazy), and the scripts that
// run by file name (config-hash, healthcheck) run.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsUrlFromLog, REPO_ROOT, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

// Every module file the process loads, appended to LOADED_FILE by a load hook (hooks run on their own thread).
const RECORD_LOADS = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(process.env.LOADED_FILE, url + '\\\\n'); return next(url, context); }\`));
`;

const ICMP_ONLY = `site: {id: bundle, name: Bundle}
listen: {address: 127.0.0.1, port: 0}
modules:
  ping: {kind: icmp, interval: 1h, timeout: 1s}
targets:
  - {name: lo, module: ping, host: 127.0.0.1}
`;
const WITH_HTTP_AND_SNMP = `${ICMP_ONLY}  - {name: web, module: web, url: "http://127.0.0.1:9/"}
snmp: {devices: [{name: r1, address: 127.0.0.1, port: 9, version: v2c, community_env: BUNDLE_COMMUNITY, interval: 1h, interfaces: [{if_name: lo}]}]}
`.replace('modules:\n', 'modules:\n  web: {kind: http, interval: 1h}\n');

let scratch: string;
let dist: string;
let metafile: Metafile;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'linkmon-bundle-'));
  dist = join(scratch, 'dist');
  copyFileSync(join(REPO_ROOT, 'package.json'), join(scratch, 'package.json'));
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/bundle.mjs'), '--outdir', dist, '--metafile', join(scratch, 'meta.json')], { timeout: 120_000 });
  metafile = JSON.parse(readFileSync(join(scratch, 'meta.json'), 'utf8')) as Metafile;
}, 150_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The npm packages bundled into the output files the process loaded (the metafile's paths are relative to the repository). */
function packagesIn(loadedUrls: string[]): string[] {
  const names = new Set<string>();
  for (const url of loadedUrls) {
    if (!url.startsWith('file://')) continue;
    const output = metafile.outputs[relative(REPO_ROOT, new URL(url).pathname)];
    for (const input of Object.keys(output?.inputs ?? {})) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match) names.add(match[1]!);
    }
  }
  return [...names].sort();
}

describe('the bundle (scripts/bundle.mjs)', () => {
  it('runs the cli, with the version from package.json', () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(execFileSync(process.execPath, [join(dist, 'cli/linkmon.js'), '--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
    expect(execFileSync(process.execPath, [join(dist, 'cli/linkmon.js'), 'validate', '--config', join(REPO_ROOT, 'config/examples/esb.yaml')], { encoding: 'utf8' })).toContain('valid');
  });

  it('runs web/config-hash.js and web/healthcheck.js as scripts by their file names', () => {
    const hash = execFileSync(process.execPath, [join(dist, 'web/config-hash.js'), '--cost', '4'], { input: 'secret\n', encoding: 'utf8' });
    expect(hash).toMatch(/^\$2[aby]\$04\$.{53}\n$/);
    // Nothing listens on port 9: unhealthy, exit 1 (the script ran, not just loaded).
    let failed: { status: number | null; stdout: string } | undefined;
    try {
      execFileSync(process.execPath, [join(dist, 'web/healthcheck.js'), 'http://127.0.0.1:9/healthz'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      failed = err as { status: number | null; stdout: string };
    }
    expect(failed?.status).toBe(1);
    expect(failed?.stdout).toMatch(/^unhealthy: /);
  });

  it('keeps net-snmp and undici out of an ICMP-only agent and loads them when a reload adds SNMP and HTTP', async () => {
    const loadedFile = join(scratch, 'loaded.txt');
    const configFile = join(scratch, 'agent.yaml');
    writeFileSync(join(scratch, 'record-loads.mjs'), RECORD_LOADS);
    writeFileSync(configFile, ICMP_ONLY);
    const child = spawn(process.execPath, ['--import', join(scratch, 'record-loads.mjs'), join(dist, 'cli/linkmon.js'), 'agent', '--config', configFile], {
      env: { ...process.env, LOADED_FILE: loadedFile, BUNDLE_COMMUNITY: 'public' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const agent: Pick<LinkmonProcess, 'child' | 'output'> = { child, output: () => output };
    const loaded = () => (existsSync(loadedFile) ? readFileSync(loadedFile, 'utf8').trim().split('\n') : []);
    try {
      await metricsUrlFromLog(agent);
      const icmpOnly = packagesIn(loaded());
      expect(icmpOnly).toEqual(expect.arrayContaining(['pino', 'prom-client', 'yaml', 'zod']));
      expect(icmpOnly).not.toContain('net-snmp');
      expect(icmpOnly).not.toContain('undici');
      expect(icmpOnly).not.toContain('bcryptjs');

      writeFileSync(configFile, WITH_HTTP_AND_SNMP);
      child.kill('SIGHUP');
      await waitFor('the reload in the agent log', () => (output.includes('"msg":"config reloaded"') ? true : undefined), 30_000);
      expect(packagesIn(loaded())).toEqual(expect.arrayContaining(['net-snmp', 'undici']));
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
