// Reproduces the Dockerfile's production install in a temp dir (`npm ci --omit=dev` from the lockfile,
// needs the npm registry or a warm npm cache, ~25 s, of which the image keeps raw-socket alone; plus the
// bundle `npm run build` makes, scripts/bundle.mjs, bundled here; plus the kernel-timestamp ICMP addon,
// compiled from its sources by `npm run build:native` as the image's build stage does and placed alone
// where the runtime image has it)
// and starts the agent from it as an unprivileged user (nobody) the ways it is deployed:
//   - container: the image's entrypoint with only NET_RAW in the bounding set, so ICMP comes from the
//     file capability on a copy of node (setcap cap_net_raw+ep);
//   - systemd: ambient CAP_NET_RAW with no_new_privs (AmbientCapabilities=, NoNewPrivileges=);
//   - no capability at all, in a network namespace whose net.ipv4.ping_group_range lets nobody open
//     ping sockets: ICMP through unprivileged ping sockets (still kernel receive timestamps);
//   - no capability at all, in a namespace with the kernel's default range ("1 0"): ICMP reported
//     unavailable, saying why, and the rest runs. (Both in their own namespace: a host's range
//     depends on its distribution, systemd sets "0 2147483647".)
// With CAP_NET_RAW the ICMP prober must use the addon (kernel receive timestamps), not the raw-socket fallback.
// Needs root (setpriv, setcap: util-linux and Debian libcap2-bin).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onProcessExit } from '../support/exit-cleanup.js';
import { createLoopbackNamespace, type LoopbackNamespace } from '../lab/loopback-namespace.js';
import { metricsUrlFromLog, REPO_ROOT, waitFor } from '../support/linkmon-process.js';
import { bridgeIntoNetns, type NetnsBridge } from '../support/netns-bridge.js';
import { freeLoopbackPort, listenOnLoopback } from '../support/ports.js';

const NOBODY = '65534';
const CAP_NET_RAW_MASK = 1n << 13n;
const AUTH = { Authorization: `Basic ${Buffer.from('prometheus:install-secret').toString('base64')}` };

// Like the Dockerfile's npm_config_nodedir: node-gyp builds raw-socket against this Node's own
// headers instead of downloading them.
const NODE_DIR = dirname(dirname(process.execPath));
const NODE_GYP_ENV = existsSync(join(NODE_DIR, 'include/node/node.h')) ? { npm_config_nodedir: NODE_DIR } : {};

/** The addon's sources (what .dockerignore lets into the image build) and where the runtime image puts the built module (Dockerfile). */
const ADDON_SOURCE_DIR = 'agent/probes/native';
const ADDON_IN_IMAGE = 'agent/probes/native/build/Release/linkmon_native.node';

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...NODE_GYP_ENV } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
}

/**
 * The image's build stage for the addon: its sources without any local build/, compiled by the
 * package's own `npm run build:native` (part of `npm run build`) in a scratch dir; returns the module.
 */
async function buildAddon(scratch: string): Promise<string> {
  copyFileSync(join(REPO_ROOT, 'package.json'), join(scratch, 'package.json'));
  const sources = join(REPO_ROOT, ADDON_SOURCE_DIR);
  cpSync(sources, join(scratch, ADDON_SOURCE_DIR), { recursive: true, filter: (path) => path !== join(sources, 'build') });
  await run('npm', ['run', 'build:native', '--silent'], scratch, 120_000);
  return join(scratch, ADDON_SOURCE_DIR, 'build/Release/linkmon_native.node');
}

interface RunningAgent {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

function startAgent(command: string[], env: NodeJS.ProcessEnv): RunningAgent {
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const unregister = onProcessExit(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      unregister();
    },
  };
}

/** The value of the first sample of `name` carrying all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The first JSON log line of the agent with message `msg`. */
async function logEntry(agent: RunningAgent, msg: string): Promise<Record<string, unknown>> {
  return waitFor(
    `"${msg}" in the agent log`,
    () => {
      for (const line of agent.output().split('\n')) {
        if (!line.startsWith('{') || !line.includes(msg)) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === msg) return entry;
      }
      if (agent.child.exitCode !== null) throw new Error(`agent exited ${agent.child.exitCode}:\n${agent.output()}`);
      return undefined;
    },
    30_000,
  );
}


function procStatus(pid: number): { uid: string; capEff: bigint; capBnd: bigint; noNewPrivs: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
  return { uid: field('Uid'), capEff: BigInt(`0x${field('CapEff')}`), capBnd: BigInt(`0x${field('CapBnd')}`), noNewPrivs: field('NoNewPrivs') };
}

describe('production install (the bundle in dist/, raw-socket from npm ci --omit=dev), run as nobody with CAP_NET_RAW only', () => {
  let dir: string;
  let addonBuildDir: string;
  let tcpServer: Server;
  const agents: RunningAgent[] = [];
  let configFile: string;
  let webConfigFile: string;
  /** For agents in their own namespace: the TCP target is the agent's own listener there. */
  let namespaceConfigFile: string;
  let namespaceListenPort: number;
  const namespaces: LoopbackNamespace[] = [];
  const bridges: NetnsBridge[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-prod-'));
    chmodSync(dir, 0o755);
    copyFileSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
    copyFileSync(join(REPO_ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
    addonBuildDir = mkdtempSync(join(tmpdir(), 'linkmon-addon-build-'));
    const installAddon = async () => {
      const addon = await buildAddon(addonBuildDir);
      mkdirSync(dirname(join(dir, ADDON_IN_IMAGE)), { recursive: true });
      copyFileSync(addon, join(dir, ADDON_IN_IMAGE));
    };
    await Promise.all([
      installAddon(),
      run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], dir, 240_000),
      run(process.execPath, [join(REPO_ROOT, 'scripts/bundle.mjs'), '--outdir', join(dir, 'dist')], REPO_ROOT, 120_000),
    ]);
    // The image copies raw-socket alone out of that install: everything else is in the bundle.
    for (const entry of readdirSync(join(dir, 'node_modules'))) if (entry !== 'raw-socket') rmSync(join(dir, 'node_modules', entry), { recursive: true, force: true });
    // The image's layout: entrypoint, and a copy of node carrying CAP_NET_RAW as a file capability.
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(REPO_ROOT, 'deploy/docker/entrypoint.sh'), join(dir, 'bin/linkmon'));
    chmodSync(join(dir, 'bin/linkmon'), 0o755);
    copyFileSync(process.execPath, join(dir, 'bin/node-net-raw'));
    await run('setcap', ['cap_net_raw+ep', join(dir, 'bin/node-net-raw')], dir, 10_000);

    tcpServer = createServer((socket) => socket.end());
    const tcpPort = await listenOnLoopback(tcpServer);
    configFile = join(dir, 'agent.yaml');
    writeFileSync(
      configFile,
      `site: { id: lambeth, name: Lambeth }
listen: { address: 127.0.0.1, port: 0 }
modules:
  icmp: { kind: icmp, interval: 1s, packets: 3, timeout: 500ms }
  tcp: { kind: tcp, interval: 1s, timeout: 500ms }
targets:
  - { name: loopback-icmp, module: icmp, host: 127.0.0.1 }
  - { name: loopback-tcp, module: tcp, host: 127.0.0.1, port: ${tcpPort} }
`,
    );
    // A private namespace has nothing else listening; the port comes from the host's free ports anyway.
    namespaceListenPort = await freeLoopbackPort();
    namespaceConfigFile = join(dir, 'agent-netns.yaml');
    writeFileSync(
      namespaceConfigFile,
      readFileSync(configFile, 'utf8')
        .replace('port: 0 }', `port: ${namespaceListenPort} }`)
        .replace(`port: ${tcpPort} }`, `port: ${namespaceListenPort} }`),
    );
    webConfigFile = join(dir, 'web-config.yml');
    writeFileSync(webConfigFile, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('install-secret', 8)}\nauth_excluded_paths: [/healthz]\n`);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(bridges.map((b) => b.close()));
    await Promise.all(namespaces.map((ns) => ns.remove()));
    tcpServer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (addonBuildDir) rmSync(addonBuildDir, { recursive: true, force: true });
  });

  const asNobody = (caps: string[], command: string[]) => ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...caps, '--', ...command];
  const agentArgs = () => ['agent', '--config', configFile, '--web.config.file', webConfigFile];
  const launch = (command: string[]) => {
    const agent = startAgent(command, { PATH: process.env.PATH, LINKMON_HOME: dir });
    agents.push(agent);
    return agent;
  };
  const scrapeUntil = (url: string, what: string, done: (text: string) => boolean) =>
    waitFor(
      what,
      async () => {
        const text = await (await fetch(url, { headers: AUTH })).text();
        return done(text) ? text : undefined;
      },
      30_000,
      250,
    );
  /** The agent's ICMP prober runs on the addon from the install (kernel receive timestamps), not on raw-socket. */
  const expectKernelTimestamps = async (agent: RunningAgent) => {
    expect(await logEntry(agent, 'icmp prober ready')).toMatchObject({ kind: 'icmp', timestamps: 'kernel' });
    expect(readFileSync(`/proc/${agent.child.pid}/maps`, 'utf8')).toContain(join(dir, ADDON_IN_IMAGE));
  };
  const icmpWorks = (text: string) =>
    (sample(text, 'linkmon_probe_duration_seconds_count', { target: 'loopback-icmp' }) ?? 0) > 0 &&
    (sample(text, 'linkmon_probe_duration_seconds_count', { target: 'loopback-tcp' }) ?? 0) > 0;

  it('container route: the image entrypoint with only NET_RAW in the bounding set; ICMP works through the file capability', async () => {
    const agent = launch(asNobody(['--inh-caps=-all', '--bounding-set=-all,+net_raw'], ['sh', join(dir, 'bin/linkmon'), ...agentArgs()]));
    const url = await metricsUrlFromLog(agent);
    const text = await scrapeUntil(url, 'ICMP and TCP successes', icmpWorks);
    expect(sample(text, 'linkmon_prober_available', { kind: 'icmp' })).toBe(1);
    expect(sample(text, 'linkmon_probe_success', { target: 'loopback-icmp' })).toBe(1);
    const status = procStatus(agent.child.pid!);
    expect(status.uid).toBe(NOBODY);
    expect(status.capEff).toBe(CAP_NET_RAW_MASK);
    expect(readFileSync(`/proc/${agent.child.pid}/cmdline`, 'utf8').split('\0')[0]).toBe(join(dir, 'bin/node-net-raw'));
    await expectKernelTimestamps(agent);

    // Basic auth from the web config works from the production node_modules (bcrypt worker), and the
    // HEALTHCHECK script from dist/ reports healthy without credentials.
    expect((await fetch(url)).status).toBe(401);
    const healthcheck = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile('setpriv', asNobody(['--inh-caps=-all'], [process.execPath, join(dir, 'dist/web/healthcheck.js'), url.replace('/metrics', '/healthz')]).slice(1), (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout }),
      );
    });
    expect(healthcheck).toEqual({ code: 0, stdout: `healthy: ${url.replace('/metrics', '/healthz')}: HTTP 200\n` });
  });

  it('systemd route: ambient CAP_NET_RAW with no_new_privs; ICMP works', async () => {
    const agent = launch(
      asNobody(['--inh-caps=+net_raw', '--ambient-caps=+net_raw', '--bounding-set=-all,+net_raw', '--no-new-privs'], [process.execPath, join(dir, 'dist/cli/linkmon.js'), ...agentArgs()]),
    );
    const url = await metricsUrlFromLog(agent);
    const text = await scrapeUntil(url, 'ICMP and TCP successes', icmpWorks);
    expect(sample(text, 'linkmon_prober_available', { kind: 'icmp' })).toBe(1);
    const status = procStatus(agent.child.pid!);
    expect(status).toMatchObject({ uid: NOBODY, capEff: CAP_NET_RAW_MASK, capBnd: CAP_NET_RAW_MASK, noNewPrivs: '1' });
    await expectKernelTimestamps(agent);
  });

  /** The agent as nobody with no capability at all, in a fresh namespace with this ping_group_range; its /metrics through a bridge. */
  const launchInNamespace = async (suffix: string, pingGroupRange: string) => {
    const ns = await createLoopbackNamespace(suffix, { pingGroupRange });
    namespaces.push(ns);
    const agent = launch([
      'ip', 'netns', 'exec', ns.name,
      ...asNobody(['--inh-caps=-all', '--bounding-set=-all'], ['sh', join(dir, 'bin/linkmon'), 'agent', '--config', namespaceConfigFile, '--web.config.file', webConfigFile]),
    ]);
    await metricsUrlFromLog(agent);
    const bridge = await bridgeIntoNetns(ns.name, namespaceListenPort);
    bridges.push(bridge);
    return { agent, url: `http://${bridge.hostPort}/metrics` };
  };

  it('no capability, ping_group_range allows nobody: ICMP through unprivileged ping sockets', async () => {
    const { agent, url } = await launchInNamespace('pingok', `${NOBODY} ${NOBODY}`);
    const text = await scrapeUntil(url, 'ICMP and TCP successes', icmpWorks);
    expect(sample(text, 'linkmon_prober_available', { kind: 'icmp' })).toBe(1);
    expect(sample(text, 'linkmon_icmp_socket_info', { ip_version: '4', socket: 'ping', timestamps: 'kernel' })).toBe(1);
    expect(sample(text, 'linkmon_probe_success', { target: 'loopback-icmp' })).toBe(1);
    expect(procStatus(agent.child.pid!)).toMatchObject({ uid: NOBODY, capEff: 0n });
    expect(await logEntry(agent, 'icmp prober ready')).toMatchObject({ kind: 'icmp', timestamps: 'kernel', ipv4_socket: 'ping', ipv6_socket: 'ping' });
  });

  it('no capability, outside ping_group_range: ICMP is reported unavailable, saying why, and everything else runs', async () => {
    const { agent, url } = await launchInNamespace('pingno', '1 0');
    const text = await scrapeUntil(url, 'TCP successes', (t) => (sample(t, 'linkmon_probe_duration_seconds_count', { target: 'loopback-tcp' }) ?? 0) > 0);
    expect(sample(text, 'linkmon_prober_available', { kind: 'icmp' })).toBe(0);
    expect(sample(text, 'linkmon_prober_available', { kind: 'tcp' })).toBe(1);
    expect(sample(text, 'linkmon_probe_success', { target: 'loopback-tcp' })).toBe(1);
    expect(sample(text, 'linkmon_probe_duration_seconds_count', { target: 'loopback-icmp' }) ?? 0).toBe(0);
    expect(text).not.toContain('linkmon_icmp_socket_info{');
    expect(procStatus(agent.child.pid!)).toMatchObject({ uid: NOBODY, capEff: 0n });
    const unavailable = agent.output().split('\n').filter((line) => line.includes('icmp probes are unavailable and will not run; all other probes continue'));
    expect(unavailable).toHaveLength(1);
    expect(unavailable[0]).toContain('CAP_NET_RAW');
    expect(unavailable[0]).toContain('net.ipv4.ping_group_range (1 0)');
    expect(agent.output()).not.toContain('icmp prober ready');
  });
});
