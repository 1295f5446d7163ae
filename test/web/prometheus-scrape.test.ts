// A real Prometheus (Debian package prometheus, 2.42) scrapes startWebServer over TLS with basic
// auth, and separately over mTLS, with certificates made by the test (openssl CLI). Wrong
// credentials, a wrong CA and plain HTTP must fail, and Prometheus's target status must say why.
// A password change in the web config is picked up without restart. The real agent process
// (linkmon agent --web.config.file) is scraped the same way. Loopback only; no root needed.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, type WebServer } from '../../web/server.js';
import { createTestPki, writeServerFiles, type TestPki } from '../support/certs.js';
import { metricsUrlFromLog, startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { startPrometheus, staticScrape, type PrometheusInstance } from '../support/prometheus.js';

const log = pino({ level: 'silent' });
// Prometheus scrapes every second here (scrape timeout 1 s), and the failing jobs cost a bcrypt
// compare each time. At production cost 10 on a busy 2-core box those compares queue up past the
// timeout; a low cost keeps the test about TLS and auth, not CPU (bench/web-config-auth.ts has cost 10).
const TEST_COST = 5;
const metricsHandler = (name: string) => (_req: unknown, res: { setHeader: (k: string, v: string) => void; end: (s: string) => void }) => {
  res.setHeader('Content-Type', 'text/plain; version=0.0.4');
  res.end(`# TYPE linkmon_security_test gauge\nlinkmon_security_test{server="${name}"} 1\n`);
};

type Target = Awaited<ReturnType<PrometheusInstance['targets']>>[number];

describe('Prometheus scrapes the web server over TLS, basic auth and mTLS', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let dir: string;
  let basicServer: WebServer | undefined;
  let mtlsServer: WebServer | undefined;
  let prometheus: PrometheusInstance | undefined;
  let agent: LinkmonProcess | undefined;
  let basicConfigFile: string;

  const basicAuthConfig = (hash: string) => `tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${hash}\n`;
  const jobTarget = async (job: string): Promise<Target | undefined> => (await prometheus!.targets()).find((t) => t.labels.job === job);
  /** Waits until the job's target has been scraped with the expected health, and returns it. */
  const settled = (job: string, health: 'up' | 'down', lastError?: RegExp) =>
    waitFor(
      `job ${job} ${health}`,
      async () => {
        const target = await jobTarget(job);
        if (target?.health !== health) return undefined;
        if (lastError && !lastError.test(target.lastError)) return undefined;
        return target;
      },
      30_000,
      250,
    );

  beforeAll(async () => {
    pki = createTestPki({ name: 'promsec' });
    otherPki = createTestPki({ name: 'promsec-other' });
    dir = mkdtempSync(join(tmpdir(), 'linkmon-promsec-'));
    writeServerFiles(pki, dir);
    // Prometheus reads client credentials from files; a second set comes from the other CA.
    writeFileSync(join(dir, 'password'), 'scrape-secret');

    basicConfigFile = join(dir, 'web-basic.yml');
    writeFileSync(basicConfigFile, basicAuthConfig(bcrypt.hashSync('scrape-secret', TEST_COST)));
    const mtlsConfigFile = join(dir, 'web-mtls.yml');
    writeFileSync(mtlsConfigFile, 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n');
    basicServer = await startWebServer({ listen: { address: '127.0.0.1', port: 0 }, webConfigFile: basicConfigFile, handler: metricsHandler('basic'), log });
    mtlsServer = await startWebServer({ listen: { address: '127.0.0.1', port: 0 }, webConfigFile: mtlsConfigFile, handler: metricsHandler('mtls'), log });

    agent = await startAgent(dir, basicServer.port);
    const agentTarget = new URL(await metricsUrlFromLog(agent)).host;
    const basic = `127.0.0.1:${basicServer.port}`;
    const mtls = `127.0.0.1:${mtlsServer.port}`;
    const https = (tls: Record<string, string>, extra: Record<string, unknown> = {}) => ({ scheme: 'https', tls_config: tls, ...extra });
    prometheus = await startPrometheus({
      scrapeConfigs: [
        staticScrape('basic_ok', [basic], https({ ca_file: pki.files.ca }, { basic_auth: { username: 'prometheus', password_file: join(dir, 'password') } })),
        staticScrape('basic_wrong_password', [basic], https({ ca_file: pki.files.ca }, { basic_auth: { username: 'prometheus', password: 'rotated-secret' } })),
        staticScrape('basic_unknown_user', [basic], https({ ca_file: pki.files.ca }, { basic_auth: { username: 'mallory', password: 'scrape-secret' } })),
        staticScrape('basic_wrong_ca', [basic], https({ ca_file: otherPki.files.ca }, { basic_auth: { username: 'prometheus', password: 'scrape-secret' } })),
        staticScrape('basic_plain_http', [basic], { basic_auth: { username: 'prometheus', password: 'scrape-secret' } }),
        staticScrape('mtls_ok', [mtls], https({ ca_file: pki.files.ca, cert_file: pki.files.clientCert, key_file: pki.files.clientKey })),
        staticScrape('mtls_no_client_cert', [mtls], https({ ca_file: pki.files.ca })),
        staticScrape('mtls_client_cert_wrong_ca', [mtls], https({ ca_file: pki.files.ca, cert_file: otherPki.files.clientCert, key_file: otherPki.files.clientKey })),
        staticScrape('agent_ok', [agentTarget], https({ ca_file: pki.files.ca }, { basic_auth: { username: 'prometheus', password: 'agent-secret' } })),
        staticScrape('agent_wrong_password', [agentTarget], https({ ca_file: pki.files.ca }, { basic_auth: { username: 'prometheus', password: 'scrape-secret' } })),
      ],
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await agent?.stop();
    await basicServer?.close();
    await mtlsServer?.close();
    pki?.cleanup();
    otherPki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('TLS + basic auth: the right password scrapes; wrong password, unknown user, wrong CA and plain HTTP fail visibly', async () => {
    await settled('basic_ok', 'up');
    expect(await prometheus!.queryValue('linkmon_security_test{job="basic_ok"}')).toBe(1);
    await settled('basic_wrong_password', 'down', /401 Unauthorized/);
    await settled('basic_unknown_user', 'down', /401 Unauthorized/);
    await settled('basic_wrong_ca', 'down', /x509: certificate signed by unknown authority/);
    await settled('basic_plain_http', 'down', /400 Bad Request/);
  });

  it('mTLS: only the client certificate issued by client_ca_file gets in', async () => {
    await settled('mtls_ok', 'up');
    expect(await prometheus!.queryValue('linkmon_security_test{job="mtls_ok"}')).toBe(1);
    await settled('mtls_no_client_cert', 'down', /tls: certificate required/);
    // Node checks the chain after the handshake and drops the connection: Go sees it close.
    await settled('mtls_client_cert_wrong_ca', 'down', /EOF|connection reset by peer|broken pipe/);
  });

  it('a new password in the web config applies without restart: the old one fails, the new one works', async () => {
    await settled('basic_ok', 'up');
    writeFileSync(basicConfigFile, basicAuthConfig(bcrypt.hashSync('rotated-secret', TEST_COST)));
    utimesSync(basicConfigFile, new Date(), new Date(Date.now() + 5000));
    await settled('basic_wrong_password', 'up');
    await settled('basic_ok', 'down', /401 Unauthorized/);
  });

  it('the real agent (linkmon agent --web.config.file) serves /metrics over TLS with basic auth, /healthz left open', async () => {
    await settled('agent_ok', 'up');
    await settled('agent_wrong_password', 'down', /401 Unauthorized/);
    await prometheus!.waitForSeries('linkmon_probe_success{job="agent_ok",target="web-server"} == 1', 20_000);
    const healthz = new URL('/healthz', await metricsUrlFromLog(agent!));
    expect(healthz.protocol).toBe('https:');
    const plain = await fetch(`http://${healthz.host}/healthz`);
    expect(plain.status).toBe(400);
  });
});

/** The agent probes the (TLS) test server's port with a TCP probe; its own endpoints use web-agent.yml. */
async function startAgent(dir: string, tcpPort: number): Promise<LinkmonProcess> {
  writeFileSync(
    join(dir, 'agent.yaml'),
    `site: { id: esb, name: Empress State Building }
listen: { address: 127.0.0.1, port: 0 }
modules:
  tcp: { kind: tcp, interval: 1s, timeout: 500ms }
targets:
  - { name: web-server, module: tcp, host: 127.0.0.1, port: ${tcpPort} }
`,
  );
  writeFileSync(
    join(dir, 'web-agent.yml'),
    `tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${bcrypt.hashSync('agent-secret', TEST_COST)}\nauth_excluded_paths: [/healthz]\n`,
  );
  return startLinkmon(['agent', '--config', join(dir, 'agent.yaml'), '--web.config.file', join(dir, 'web-agent.yml')]);
}

