// Lints the Dockerfile and .dockerignore by parsing them (Docker's engine does not run here):
// multi-stage, pinned bases, non-root user, health check, nothing secret in the build context.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTHCHECK_URL } from '../../web/healthcheck.js';

const ROOT = join(import.meta.dirname, '../..');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    pending += `${line.replace(/\\$/, '').trim()} `;
    if (line.endsWith('\\')) return;
    const match = /^(\S+)\s*(.*)$/.exec(pending.trim())!;
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: startLine });
    pending = '';
  });
  return instructions;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      expect(match, `FROM at line ${instruction.line}`).not.toBeNull();
      stages.push({ base: match![1]!, ...(match![2] ? { name: match![2] } : {}), instructions: [] });
    } else {
      expect(stages.length, `${instruction.keyword} before any FROM (line ${instruction.line})`).toBeGreaterThan(0);
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** .dockerignore semantics (moby patternmatcher): last matching pattern wins; a pattern also matches everything below a matched directory. */
function dockerIgnores(patterns: string[], path: string): boolean {
  const toRegex = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/^\/+|\/+$/g, '')
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => (part.startsWith('**') ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    );
  const candidates = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const regex = toRegex(negated ? raw.slice(1) : raw);
    if (candidates.some((candidate) => regex.test(candidate))) excluded = !negated;
  }
  return excluded;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const finalStage = stages.at(-1)!;
const ignorePatterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stageNames = new Set(stages.flatMap((s) => (s.name ? [s.name] : [])));
const runCommands = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const copySources = (stage: Stage) =>
  stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .filter((i) => !i.args.includes('--from='))
    .flatMap((i) => {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      return parts.slice(0, -1);
    });

/** The kernel-timestamp ICMP addon: sources in the build context, the built module in the runtime image. */
const ADDON_SOURCES = ['agent/probes/native/binding.gyp', 'agent/probes/native/addon.c', 'agent/probes/native/icmp_socket.c'];
const RUNTIME_ADDON_PATH = '/app/agent/probes/native/build/Release/linkmon_native.node';

/** The stage and the stages it is built FROM, base first. */
function stageChain(stage: Stage): Stage[] {
  const parent = stages.find((s) => s.name === stage.base);
  return parent ? [...stageChain(parent), stage] : [stage];
}
const workdirOf = (chain: Stage[]) => chain.flatMap((s) => s.instructions).filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;

describe('Dockerfile', () => {
  it('is multi-stage: a build with dev dependencies, a runtime with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const all = stages.flatMap(runCommands).join('\n');
    expect(all).toMatch(/npm ci --omit=dev/);
    expect(all).toMatch(/npm ci(?! --omit)/);
    expect(all).toMatch(/npm run build/);
    // The runtime stage installs nothing with npm and compiles nothing: it copies raw-socket (the
    // one package the bundle loads from node_modules) from the stage that ran `npm ci --omit=dev`,
    // and dist/ (the bundle) from the build.
    expect(runCommands(finalStage).join('\n')).not.toMatch(/npm (ci|install)|g\+\+|make/);
    const copiesFrom = finalStage.instructions.filter((i) => i.keyword === 'COPY' && i.args.includes('--from=')).map((i) => i.args);
    const prodStage = stages.find((s) => runCommands(s).some((r) => r.includes('npm ci --omit=dev')))!;
    expect(copiesFrom).toContainEqual(expect.stringMatching(new RegExp(`--from=${prodStage.name} \\S*node_modules/raw-socket `)));
    expect(copiesFrom).toContainEqual(expect.stringMatching(/--from=\S+ \S*dist /));
  });

  it('pins every base image to an exact version tag (never latest), the same Node and libc in every stage', () => {
    const external = stages.map((s) => s.base).filter((base) => !stageNames.has(base));
    expect(external.length).toBeGreaterThanOrEqual(2);
    for (const base of external) {
      const [, tag] = base.split(':');
      expect(tag, base).toBeDefined();
      expect(tag, base).not.toMatch(/latest/);
      expect(tag, base).toMatch(/^\d+\.\d+\.\d+-/);
    }
    expect(new Set(external).size).toBe(1);
    // Node 24 LTS, the major the Debian package bundles and the engines field names first.
    expect(external[0]).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/);
  });

  it('carries OCI labels for the source, version and licence, as package.json states them', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; repository: { url: string } };
    const labels = new Map(
      finalStage.instructions
        .filter((i) => i.keyword === 'LABEL')
        .flatMap((i) => [...i.args.matchAll(/(\S+)="([^"]*)"/g)].map(([, key, value]) => [key!, value!] as const)),
    );
    expect(labels.get('org.opencontainers.image.source')).toBe(pkg.repository.url);
    expect(labels.get('org.opencontainers.image.version')).toBe(pkg.version);
    expect(labels.get('org.opencontainers.image.licenses')).toBe(pkg.license);
  });

  it('builds the native ICMP addon with python3, make and g++ in a build stage, not in the runtime', () => {
    const buildRuns = stages.slice(0, -1).flatMap(runCommands).join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(buildRuns).toContain(tool);
    expect(runCommands(finalStage).join('\n')).not.toMatch(/python3|g\+\+/);
  });

  it('compiles the kernel-timestamp ICMP addon from its sources in the build and copies only linkmon_native.node into the runtime, where the loader finds it from dist', () => {
    const buildStage = stages.slice(0, -1).find((s) => runCommands(s).some((r) => /npm run build\b/.test(r)))!;
    expect(buildStage?.name).toBeDefined();
    // `npm run build` compiles the addon (node-gyp, against the image's Node headers: no download) before
    // tsc, through scripts/build-native.mjs (strict where the tools are, as in the build stage).
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.build).toBe('node scripts/build-native.mjs && node scripts/bundle.mjs');
    expect(readFileSync(join(ROOT, 'scripts/build-native.mjs'), 'utf8')).toContain("['run', 'build:native'");
    expect(copySources(buildStage)).toEqual(expect.arrayContaining(['scripts/build-native.mjs', 'scripts/bundle.mjs']));
    expect(scripts['build:native']).toMatch(/node-gyp rebuild .*-C agent\/probes\/native$/);
    const chain = stageChain(buildStage);
    expect(chain.flatMap((s) => s.instructions).filter((i) => i.keyword === 'ENV').map((i) => i.args)).toContain('npm_config_nodedir=/usr/local');
    for (const file of ADDON_SOURCES) {
      expect(existsSync(join(ROOT, file)), file).toBe(true);
      expect(copySources(buildStage).some((source) => file === source || file.startsWith(`${source.replace(/^\.\/|\/$/g, '')}/`)), file).toBe(true);
    }

    const copies = finalStage.instructions.filter((i) => i.keyword === 'COPY' && i.args.includes(`--from=${buildStage.name} `)).map((i) => i.args.split(/\s+/).slice(1));
    const addonCopy = copies.find(([source]) => source?.endsWith('/linkmon_native.node'));
    expect(addonCopy).toEqual([`${workdirOf(chain)}/agent/probes/native/build/Release/linkmon_native.node`, RUNTIME_ADDON_PATH]);
    // Only the built addon: no sources, objects or Makefiles of the build tree.
    expect(copies.filter(([source]) => source?.includes('probes/native'))).toHaveLength(1);
    // One of the loader's candidates, resolved from a file of the bundle (one folder below dist/; the runtime's WORKDIR is /app), is that path.
    expect(workdirOf([finalStage])).toBe('/app');
    const loader = readFileSync(join(ROOT, 'agent/probes/native/addon.ts'), 'utf8');
    const candidates = [...loader.matchAll(/'([^']*linkmon_native\.node)'/g)].map((m) => new URL(m[1]!, 'file:///app/dist/chunks/chunk.js').pathname);
    expect(candidates).toContain(RUNTIME_ADDON_PATH);
  });

  it('runs as a non-root user, set before ENTRYPOINT and CMD and never switched back', () => {
    const keywords = finalStage.instructions.map((i) => i.keyword);
    const users = finalStage.instructions.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    for (const user of users) expect(user.args.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(keywords.lastIndexOf('USER')).toBeLessThan(keywords.indexOf('ENTRYPOINT'));
    expect(keywords.lastIndexOf('USER')).toBeLessThan(keywords.indexOf('CMD'));
    // Nothing runs as root after the switch.
    expect(keywords.slice(keywords.indexOf('USER')).filter((k) => k === 'RUN')).toEqual([]);
  });

  it('has a HEALTHCHECK on /healthz without curl, one ENTRYPOINT and the agent as default command', () => {
    const healthcheck = finalStage.instructions.find((i) => i.keyword === 'HEALTHCHECK');
    expect(healthcheck?.args).toMatch(/CMD \["node", "\/app\/dist\/web\/healthcheck\.js"\]/);
    expect(healthcheck?.args).not.toMatch(/curl|wget/);
    expect(new URL(DEFAULT_HEALTHCHECK_URL).pathname).toBe('/healthz');
    expect(finalStage.instructions.filter((i) => i.keyword === 'ENTRYPOINT').map((i) => i.args)).toEqual(['["linkmon"]']);
    expect(finalStage.instructions.filter((i) => i.keyword === 'CMD').map((i) => i.args)).toEqual(['["agent", "--config", "/etc/linkmon/agent.yaml"]']);
  });

  it('gets ICMP through CAP_NET_RAW only: a file capability on a copy of node, no setuid, no root', () => {
    const runtime = runCommands(finalStage).join('\n');
    expect(runtime).toMatch(/setcap cap_net_raw\+ep \/app\/bin\/node-net-raw/);
    expect(runtime).not.toMatch(/setcap\s+\S+\s+\/usr\/local\/bin\/node\b/);
    expect(runtime).not.toMatch(/chmod\s+[ugo]*\+?[0-7]*s|chmod [2467][0-7]{3}/);
    expect(dockerfile).not.toMatch(/--privileged/);
  });

  it('copies no secrets: no key, certificate, env or web config file, no URL downloads, no secret build args', () => {
    for (const stage of stages) {
      for (const source of copySources(stage)) {
        expect(source).not.toMatch(/\.(pem|key|crt|p12|pfx)$|(^|\/)\.env|secret|token|password|web-config|^\.$/i);
        expect(source).not.toMatch(/^https?:/);
      }
    }
    for (const instruction of instructions.filter((i) => i.keyword === 'ARG' || i.keyword === 'ENV')) {
      expect(instruction.args).not.toMatch(/(PASSWORD|TOKEN|SECRET|PRIVATE_KEY)\b/i);
    }
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
  });

  it('copies every source file the bundle is made of into the stage that runs npm run build', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'linkmon-bundle-'));
    try {
      execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), '--outdir', join(scratch, 'dist'), '--metafile', join(scratch, 'meta.json')]);
      const { inputs } = JSON.parse(readFileSync(join(scratch, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
      const ours = Object.keys(inputs).filter((file) => !file.startsWith('node_modules/') && !file.includes(':'));
      expect(ours).toContain('cli/linkmon.ts');
      const buildStage = stages.find((s) => runCommands(s).some((r) => /npm run build\b/.test(r)))!;
      const copied = stageChain(buildStage).flatMap(copySources).map((source) => source.replace(/^\.\/|\/$/g, ''));
      expect(ours.filter((file) => !copied.some((source) => file === source || file.startsWith(`${source}/`)))).toEqual([]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    for (const source of stages.flatMap(copySources)) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(dockerIgnores(ignorePatterns, source), source).toBe(false);
    }
  });

  it('has an entrypoint script that is valid sh', () => {
    expect(() => execFileSync('sh', ['-n', join(ROOT, 'deploy/docker/entrypoint.sh')])).not.toThrow();
  });
});

describe('.dockerignore', () => {
  it.each(['node_modules/pino/package.json', '.git/config', 'dist/cli/linkmon.js', 'test/agent/config/schema.test.ts', 'bench/results/x.json', 'agent/x.test.ts', 'server.pem', 'agent/server.key', '.env', 'docs/deploy.md', 'config/examples/agent.yaml', 'agent/probes/native/build/Release/linkmon_native.node', 'agent/probes/native/build/config.gypi'])(
    'keeps %s out of the build context',
    (path) => {
      expect(dockerIgnores(ignorePatterns, path)).toBe(true);
    },
  );

  it.each(['package.json', 'package-lock.json', 'tsconfig.json', 'cli/linkmon.ts', 'lib/log.ts', 'web/server.ts', 'agent/agent.ts', 'responder/server.ts', 'deploy/docker/entrypoint.sh', 'scripts/build-native.mjs', 'scripts/bundle.mjs', ...ADDON_SOURCES])('lets %s in', (path) => {
    expect(dockerIgnores(ignorePatterns, path)).toBe(false);
  });
});
