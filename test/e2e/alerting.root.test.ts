// End to end: real linkmon agents for 3 sites in the lab's namespaces, the real Prometheus and
// Alertmanager (Debian packages) with the shipped rules and routing, all durations scaled down
// from alerts/src/config.ts and alertmanager/alertmanager.yml, and a webhook receiver in this
// process. Breaking one site's path gives exactly one notification for that site (and a resolved
// one after repair); breaking the shared link gives one HSL notification and no per-site ones.
// Needs root (network namespaces, raw ICMP) and the Debian packages iproute2, nftables,
// prometheus and prometheus-alertmanager (scripts/test-host-setup.sh).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsConfig } from '../../alerts/src/config.js';
import { renderRuleFiles } from '../../alerts/src/render.js';
import { scaleDurations } from '../../alerts/src/scale.js';
import { siteGateway } from '../lab/addresses.js';
import { createLab, type Lab } from '../lab/lab.js';
import { REPO_ROOT, startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { startAlertmanager, startPrometheus, type AlertmanagerInstance, type PrometheusInstance } from '../support/prometheus.js';
import { listenOnLoopback } from '../support/ports.js';

/** Every window, `for` and group interval is a tenth of production's (scrapes: 1 s instead of 15 s). */
const SCALE = 0.1;
const SITES = ['esb', 'lambeth', 'bcu_ne'] as const;
const AGENT_PORT = 9470;

interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Notification {
  receivedAt: number;
  receiver: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: WebhookAlert[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shipped Alertmanager config with its timings scaled and every receiver posting to `webhookBase/<receiver>`. */
function testAlertmanagerConfig(webhookBase: string): string {
  const config = parse(readFileSync(join(REPO_ROOT, 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
    route: Record<string, unknown>;
    receivers: { name: string }[];
  } & Record<string, unknown>;
  config.route = scaleDurations(config.route, SCALE);
  config.receivers = config.receivers.map(({ name }) => ({ name, webhook_configs: [{ url: `${webhookBase}/${name}`, send_resolved: true }] }));
  return stringify(config);
}

/** The shipped prometheus.yml, with its linkmon job reading `targetsFile`, the test rules and Alertmanager. */
function testPrometheusConfig(targetsFile: string, ruleFiles: string[], alertmanagerHost: string): string {
  const config = parse(readFileSync(join(REPO_ROOT, 'prometheus', 'prometheus.yml'), 'utf8')) as {
    global: Record<string, unknown>;
    scrape_configs: { job_name: string; file_sd_configs?: { files: string[] }[] }[];
  } & Record<string, unknown>;
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  config.rule_files = ruleFiles;
  config.alerting = { alertmanagers: [{ static_configs: [{ targets: [alertmanagerHost] }] }] };
  config.scrape_configs = config.scrape_configs
    .filter((job) => job.job_name === 'linkmon')
    .map((job) => ({ ...job, file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }] }));
  return stringify(config);
}

function agentConfig(site: string, siteIndex: number, lab: Lab): string {
  return `site: { id: ${site}, name: ${site} (lab) }
listen: { address: 0.0.0.0, port: ${AGENT_PORT} }
log: { level: warn }
modules:
  icmp: { kind: icmp, interval: 1s, packets: 4, timeout: 500ms }
targets:
  # The site's WAN router (answers itself: the lab's drops act on forwarded traffic only).
  - { name: dc-core, module: icmp, host: ${siteGateway(siteIndex)}, labels: { link: wan } }
  # The CAID side, beyond the shared link.
  - { name: caid-1, module: icmp, host: ${lab.dcAddress(1)}, labels: { link: hsl } }
  - { name: caid-2, module: icmp, host: ${lab.dcAddress(2)}, labels: { link: hsl } }
`;
}

describe('alerting end to end (lab, agents, Prometheus, Alertmanager, webhook)', () => {
  let lab: Lab | undefined;
  let dir: string;
  const agents: LinkmonProcess[] = [];
  let prometheus: PrometheusInstance | undefined;
  let alertmanager: AlertmanagerInstance | undefined;
  let webhook: Server | undefined;
  const notifications: Notification[] = [];

  const since = (t: number) => notifications.filter((n) => n.receivedAt >= t);
  const firingFor = (t: number, match: (n: Notification) => boolean) => since(t).filter((n) => n.status === 'firing' && match(n));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-e2e-alerting-'));
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const payload = JSON.parse(body) as Omit<Notification, 'receivedAt' | 'receiver'>;
        notifications.push({ receivedAt: Date.now(), receiver: (req.url ?? '').slice(1), ...payload });
        res.writeHead(200).end();
      });
    });
    const webhookBase = `http://127.0.0.1:${await listenOnLoopback(webhook)}`;

    lab = await createLab({ sites: SITES.length });
    const targets: { targets: string[]; labels: { site: string } }[] = [];
    for (const [i, site] of SITES.entries()) {
      const file = join(dir, `${site}.yaml`);
      writeFileSync(file, agentConfig(site, i + 1, lab));
      agents.push(startLinkmon(['agent', '--config', file], { netns: lab.site(i + 1) }));
      // Scrapes reach the agents through a bridge, not across the impaired links: like Prometheus
      // in the MPS data centre on this side of the HSL.
      const bridge = await lab.bridge(lab.site(i + 1), AGENT_PORT);
      targets.push({ targets: [bridge.hostPort], labels: { site } });
    }
    const targetsFile = join(dir, 'agents.yml');
    writeFileSync(targetsFile, stringify(targets));

    const ruleFiles = Object.entries(renderRuleFiles(scaleDurations(alertsConfig, SCALE))).map(([name, text]) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    });
    alertmanager = await startAlertmanager({ configYaml: testAlertmanagerConfig(webhookBase) });
    prometheus = await startPrometheus({ configYaml: testPrometheusConfig(targetsFile, ruleFiles, new URL(alertmanager.url).host) });

    // Every site's CAID side reachable and recorded before any fault.
    const reachable = `site_link:linkmon_probe_success:ratio_rate${scaleDurations(alertsConfig, SCALE).reachability.window}{link="hsl"} > 0`;
    await prometheus.waitForSeries(reachable, 60_000, (r) => r.length === SITES.length);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await prometheus?.stop();
    await alertmanager?.stop();
    await new Promise<void>((r) => (webhook ? webhook.close(() => r()) : r()));
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('breaking one site pages once for that site, with the runbook, and resolves after repair; breaking the HSL pages once for the HSL', async () => {
    const l = lab!;
    const [site] = SITES;

    // 1. The wan router drops (nftables) every forwarded packet to site 1: nothing comes back to it.
    const fault1 = Date.now();
    await l.blackhole(l.siteAddress(1));
    const page = await waitFor('the page for the broken site', () => firingFor(fault1, (n) => n.groupLabels.site === site)[0], 60_000, 100);
    const faultToPageSeconds = (page.receivedAt - fault1) / 1000;
    expect(page.receiver).toBe('page');
    expect(page.groupLabels).toEqual({ alertname: 'LinkmonSiteCaidUnreachable', site, link: 'hsl' });
    expect(page.alerts).toHaveLength(1);
    expect(page.alerts[0]!.annotations.runbook_url).toBe(`${alertsConfig.runbookBaseUrl}/reachability.md#linkmonsitecaidunreachable`);
    expect(page.alerts[0]!.annotations.description).toContain(`No probe from site ${site} to a CAID-side target`);
    expect(page.alerts[0]!.annotations.description).toMatch(/Success on this site's other links: wan [\d.]+% /);

    // Loss and error-budget alerts of this site would fire now without the outage mask and inhibition.
    await sleep(8_000);
    const repair1 = Date.now();
    await l.clearImpairments();
    const resolved = await waitFor(
      'the resolved notification',
      () => since(repair1).find((n) => n.status === 'resolved' && n.groupLabels.alertname === 'LinkmonSiteCaidUnreachable' && n.groupLabels.site === site),
      60_000,
      100,
    );
    const repairToResolvedSeconds = (resolved.receivedAt - repair1) / 1000;
    expect(resolved.alerts[0]!.annotations.runbook_url).toBe(page.alerts[0]!.annotations.runbook_url);
    // After the repair the 5m-style windows still hold the outage: nothing else may follow.
    await sleep(6_000);
    const phase1 = since(fault1).filter((n) => n.status === 'firing');
    expect(phase1.map((n) => n.groupLabels)).toEqual([{ alertname: 'LinkmonSiteCaidUnreachable', site, link: 'hsl' }]);

    // 2. The shared link (the HSL) drops everything towards the CAID side, for every site.
    const fault2 = Date.now();
    for (const k of [1, 2]) await l.blackhole(l.dcAddress(k));
    const hslPage = await waitFor('the HSL page', () => firingFor(fault2, (n) => n.groupLabels.alertname === 'LinkmonHslDown')[0], 60_000, 100);
    const faultToHslPageSeconds = (hslPage.receivedAt - fault2) / 1000;
    expect(hslPage.receiver).toBe('page');
    expect(hslPage.groupLabels).toEqual({ alertname: 'LinkmonHslDown', link: 'hsl' });
    expect(hslPage.alerts[0]!.annotations.runbook_url).toBe(`${alertsConfig.runbookBaseUrl}/reachability.md#linkmonhsldown`);
    // The per-site alerts do fire in Prometheus; Alertmanager holds them back.
    await waitFor(
      'per-site alerts firing in Prometheus',
      async () => {
        const firing = (await prometheus!.alerts()).filter((a) => a.labels.alertname === 'LinkmonSiteCaidUnreachable' && a.state === 'firing');
        return firing.length === SITES.length ? firing : undefined;
      },
      30_000,
      200,
    );
    await sleep(8_000);
    const repair2 = Date.now();
    await l.clearImpairments();
    const hslResolved = await waitFor(
      'the HSL resolved notification',
      () => since(repair2).find((n) => n.status === 'resolved' && n.groupLabels.alertname === 'LinkmonHslDown'),
      60_000,
      100,
    );
    await sleep(6_000);
    const phase2 = since(fault2).filter((n) => n.status === 'firing');
    expect(phase2.map((n) => n.groupLabels)).toEqual([{ alertname: 'LinkmonHslDown', link: 'hsl' }]);

    const figures = {
      scale: SCALE,
      siteFaultToPageSeconds: faultToPageSeconds,
      siteRepairToResolvedSeconds: repairToResolvedSeconds,
      hslFaultToPageSeconds: faultToHslPageSeconds,
      hslRepairToResolvedSeconds: (hslResolved.receivedAt - repair2) / 1000,
    };
    console.log(`alerting e2e timings (durations scaled by ${SCALE}): ${JSON.stringify(figures)}`);
  }, 240_000);
});
