// Runs the real agent process on loopback. Needs root (raw ICMP socket; setpriv for the
// no-capability case) and Debian's prometheus package (promtool check metrics).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsUrlFromLog, startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { listenOnLoopback } from '../support/ports.js';

let dir: string;
let httpServer: Server;
let httpPort: number;

function agentConfig(targets: string, extra = ''): string {
  return `site: { id: esb, name: Empress State Building }
listen: { address: 127.0.0.1, port: 0 }
log: { level: debug }
modules:
  icmp: { kind: icmp, interval: 1s, packets: 5, timeout: 500ms }
  tcp: { kind: tcp, interval: 1s, timeout: 500ms }
  web: { kind: http, interval: 1s, timeout: 500ms, expect_body: ok }
${extra}targets:
${targets}`;
}

const ALL_TARGETS = (port: number) => `  - { name: loopback, module: icmp, host: 127.0.0.1, labels: { link: wan } }
  - { name: tcp-local, module: tcp, host: 127.0.0.1, port: ${port}, labels: { link: hsl } }
  - { name: web-local, module: web, url: "http://127.0.0.1:${port}/health", labels: { link: hsl } }
`;


const scrape = async (url: string) => (await fetch(url)).text();
const sample = (text: string, selector: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(selector));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linkmon-agent-'));
  chmodSync(dir, 0o755);
  httpServer = createServer((_req, res) => res.end('ok'));
  httpPort = await listenOnLoopback(httpServer);
});
afterAll(() => {
  httpServer.closeAllConnections();
  httpServer.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('linkmon validate', () => {
  it('accepts a good file with exit 0', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, agentConfig(ALL_TARGETS(httpPort)));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'cli/linkmon.ts', 'validate', '--config', file], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/valid \(site esb, 3 modules, 3 targets, about \d+ series of at most 200000\)/);
  });

  it('rejects a bad file with exit 2, the file, the field and no stack trace', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, agentConfig('  - { name: gw, module: icmpp, host: 127.0.0.1 }\n'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'cli/linkmon.ts', 'validate', '--config', file], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`linkmon: invalid config ${file}:\n  - targets[0].module: unknown module "icmpp" (defined: icmp, tcp, web)\n`);
  });

  it('rejects unknown options with exit 2 and the usage', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'cli/linkmon.ts', 'agent', '--confg', 'x'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('linkmon: unknown option --confg');
    expect(run.stderr).toContain('Usage:');
  });
});

describe('linkmon agent (loopback, root)', () => {
  let agent: LinkmonProcess;
  let url: string;
  let configFile: string;

  beforeAll(async () => {
    configFile = join(dir, 'agent.yaml');
    writeFileSync(configFile, agentConfig(ALL_TARGETS(httpPort)));
    agent = startLinkmon(['agent', '--config', configFile]);
    url = await metricsUrlFromLog(agent);
  });
  afterAll(async () => {
    await agent.stop();
  });

  it('is alive at once and ready after the first probe cycle of every target', async () => {
    expect((await fetch(url.replace('/metrics', '/healthz'))).status).toBe(200);
    await waitFor('readiness', async () => ((await fetch(url.replace('/metrics', '/-/ready'))).status === 200 ? true : undefined), 10_000);
  });

  it('exports every target with successes, the site label and the link label', async () => {
    const text = await waitFor('successful probes of all three targets', async () => {
      const body = await scrape(url);
      const ok = ['loopback', 'tcp-local', 'web-local'].every((t) => (sample(body, `linkmon_probe_duration_seconds_count{site="esb",target="${t}"`) ?? 0) > 0);
      return ok ? body : undefined;
    });
    expect(sample(text, 'linkmon_prober_available{kind="icmp",site="esb"}')).toBe(1);
    expect(text).toMatch(/linkmon_probe_attempts_total\{target="loopback",kind="icmp",link="wan",site="esb"\} \d+/);
    expect(text).toMatch(/linkmon_http_status_code\{target="web-local",kind="http",link="hsl",site="esb"\} 200/);
    expect(text).toContain('linkmon_build_info{');
  });

  it('passes promtool check metrics on a live scrape', async () => {
    const text = await scrape(url);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('serves a status page listing every target with its last result', async () => {
    const page = await (await fetch(url.replace('/metrics', '/'))).text();
    for (const target of ['loopback', 'tcp-local', 'web-local']) expect(page).toContain(`<td>${target}</td>`);
    expect(page).toContain('ok, ');
  });

  it('keeps the old config when a reload brings a bad file', async () => {
    writeFileSync(configFile, agentConfig('  - { name: gw, module: nope, host: 127.0.0.1 }\n'));
    agent.child.kill('SIGHUP');
    await waitFor('the rejection log line', () => (agent.output().includes('config reload rejected') ? true : undefined));
    expect(agent.output()).toContain('targets[0].module: unknown module \\"nope\\"');
    const text = await waitFor('reload failure metric', async () => {
      const body = await scrape(url);
      return sample(body, 'linkmon_config_last_reload_successful{site="esb"}') === 0 ? body : undefined;
    });
    const before = sample(text, 'linkmon_probe_attempts_total{target="tcp-local"') ?? 0;
    await waitFor('probes still running', async () => ((sample(await scrape(url), 'linkmon_probe_attempts_total{target="tcp-local"') ?? 0) > before ? true : undefined));
  });

  it('applies a good reload: removed targets vanish, new ones appear at zero, counters of kept ones continue', async () => {
    const before = sample(await scrape(url), 'linkmon_probe_attempts_total{target="tcp-local"') ?? 0;
    writeFileSync(configFile, agentConfig(`  - { name: tcp-local, module: tcp, host: 127.0.0.1, port: ${httpPort}, labels: { link: hsl } }
  - { name: tcp-second, module: tcp, host: 127.0.0.1, port: ${httpPort}, labels: { link: hsl } }
`));
    agent.child.kill('SIGHUP');
    const text = await waitFor('the new target', async () => {
      const body = await scrape(url);
      return body.includes('target="tcp-second"') && sample(body, 'linkmon_config_last_reload_successful{site="esb"}') === 1 ? body : undefined;
    });
    expect(text).not.toContain('target="loopback"');
    expect(text).not.toContain('target="web-local"');
    expect(sample(text, 'linkmon_probe_attempts_total{target="tcp-local"')).toBeGreaterThanOrEqual(before);
  });

  it('stops cleanly on SIGTERM within the shutdown bound', async () => {
    const code = await agent.stop(6000);
    expect(code).toBe(0);
    expect(agent.output()).toContain('"msg":"stopped"');
  });
});

describe('linkmon agent without CAP_NET_RAW (root needed to drop it)', () => {
  it('reports ICMP unavailable once and keeps every other probe running', async () => {
    const configFile = join(dir, 'nocap.yaml');
    writeFileSync(configFile, agentConfig(ALL_TARGETS(httpPort)));
    chmodSync(configFile, 0o644);
    const setpriv = execFileSync('which', ['setpriv'], { encoding: 'utf8' }).trim();
    const agent = startLinkmon(['agent', '--config', configFile], {
      wrapper: [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'],
      env: { HOME: '/tmp' },
    });
    try {
      const url = await metricsUrlFromLog(agent);
      const text = await waitFor('TCP successes without ICMP', async () => {
        const body = await scrape(url);
        return (sample(body, 'linkmon_probe_duration_seconds_count{site="esb",target="tcp-local"') ?? 0) > 0 ? body : undefined;
      });
      expect(sample(text, 'linkmon_prober_available{kind="icmp",site="esb"}')).toBe(0);
      expect(sample(text, 'linkmon_errors_total{class="prober_unavailable",site="esb"}')).toBe(1);
      expect(text).not.toContain('target="loopback"');
      expect(agent.output().match(/icmp probes are unavailable/g)).toHaveLength(1);
    } finally {
      await agent.stop();
    }
  });
});
