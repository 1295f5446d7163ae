// Self-test of the real-Prometheus helper. Needs the Debian packages prometheus and
// prometheus-alertmanager (scripts/test-host-setup.sh). Loopback only; no root needed.
import { createServer, type Server } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './linkmon-process.js';
import { startAlertmanager, startPrometheus, staticScrape, type AlertmanagerInstance, type PrometheusInstance } from './prometheus.js';
import { listenOnLoopback } from './ports.js';

const RULES = `
groups:
  - name: selftest
    rules:
      - record: selftest:value:doubled
        expr: selftest_value * 2
      - alert: SelftestValueHigh
        expr: selftest_value > 1
        labels: { severity: page }
        annotations: { summary: "value is {{ $value }}" }
`;

const ALERTMANAGER_CONFIG = `
route: { receiver: blackhole, group_wait: 0s }
receivers: [{ name: blackhole }]
`;

describe('startPrometheus / startAlertmanager (real Debian binaries)', () => {
  let server: Server;
  let exporterAddress: string;
  let prometheus: PrometheusInstance | undefined;
  let alertmanager: AlertmanagerInstance | undefined;

  beforeAll(async () => {
    const registry = new Registry();
    new Gauge({ name: 'selftest_value', help: 'A constant for the self-test.', labelNames: ['link'], registers: [registry] }).set({ link: 'hsl' }, 21);
    server = createServer((_req, res) => {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
    });
    exporterAddress = `127.0.0.1:${await listenOnLoopback(server)}`;
    alertmanager = await startAlertmanager({ configYaml: ALERTMANAGER_CONFIG });
    prometheus = await startPrometheus({
      scrapeConfigs: [staticScrape('selftest', [exporterAddress])],
      ruleYaml: [RULES],
      alertmanagerUrl: alertmanager.nsUrl,
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await new Promise((r) => server.close(r));
  });

  it('scrapes a prom-client exporter and answers PromQL', async () => {
    const series = await prometheus!.waitForSeries('selftest_value', 20_000);
    expect(series).toHaveLength(1);
    expect(series[0]!.metric).toMatchObject({ __name__: 'selftest_value', link: 'hsl', job: 'selftest', instance: exporterAddress });
    expect(series[0]!.value[1]).toBe('21');
    expect(await prometheus!.queryValue('sum(up{job="selftest"})')).toBe(1);
    expect(await prometheus!.queryValue('absent_metric_that_does_not_exist')).toBeUndefined();
  });

  it('evaluates rules and delivers alerts to Alertmanager', async () => {
    const recorded = await prometheus!.waitForSeries('selftest:value:doubled', 20_000);
    expect(recorded[0]!.value[1]).toBe('42');
    const alerts = await waitFor('a firing alert', async () => nonEmpty((await prometheus!.alerts()).filter((a) => a.state === 'firing')), 20_000, 250);
    expect(alerts[0]!.labels).toMatchObject({ alertname: 'SelftestValueHigh', severity: 'page' });
    const delivered = await waitFor('an alert in Alertmanager', async () => nonEmpty(await alertmanager!.alerts()), 20_000, 250);
    expect(delivered[0]!.labels.alertname).toBe('SelftestValueHigh');
    expect(await prometheus!.rules()).toHaveLength(1);
  });

  it('stop() kills the process so the port stops answering', async () => {
    const other = await startPrometheus({ scrapeConfigs: [] });
    const ready = await fetch(`${other.url}/-/ready`);
    expect(ready.ok).toBe(true);
    await other.stop();
    await expect(fetch(`${other.url}/-/ready`)).rejects.toThrow();
  });
});

const nonEmpty = <T>(items: T[]): T[] | undefined => (items.length > 0 ? items : undefined);
