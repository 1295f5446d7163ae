import { randomBytes } from 'node:crypto';
import { responderConfigSchema, type ResponderConfig } from '../responder/config.js';
import { startResponder, type ResponderPorts } from '../responder/server.js';
import { agentConfigSchema, type AgentConfig } from '../agent/config/schema.js';
import { createLogger, type LogFormat, type LogLevel } from '../lib/log.js';
import { runAgentProcess } from '../agent/process.js';
import { PROBERS } from '../agent/probes/registry.js';

/** The demo's throughput token lives only in this process's environment. */
const DEMO_TOKEN_ENV = 'LINKMON_DEMO_TOKEN';
export const DEMO_METRICS_PORT = 9470;

export interface DemoOptions {
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  /** Where the agent serves /metrics and the status page; 127.0.0.1:9470 by default. */
  listen?: { address: string; port: number };
}

/**
 * The embedded default: a responder on loopback (HTTP, TCP, UDP reflector) and an agent probing
 * it, plus 127.0.0.1 by ICMP where the process may open raw or ping sockets. No config file needed,
 * and nothing to warn about: ICMP is left out (with an info line) where it cannot run.
 */
export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const logLevel = options.logLevel ?? 'info';
  process.env[DEMO_TOKEN_ENV] = randomBytes(24).toString('base64url');
  const log = createLogger(logLevel, options.logFormat);
  const responder = await startResponder(demoResponderConfig(process.env[DEMO_TOKEN_ENV]), log.child({ component: 'responder' }));
  const icmp = await (await PROBERS.icmp()).start?.();
  if (icmp && !icmp.available) log.info({ why: icmp.why }, 'demo: ICMP left out (it needs root or CAP_NET_RAW, or a group in net.ipv4.ping_group_range, and a built socket module); every other probe runs');
  const config = demoAgentConfig(responder.ports, { icmp: icmp?.available ?? true, ...(options.listen ? { listen: options.listen } : {}) });
  await runAgentProcess({ config, logLevel, ...(options.logFormat ? { logFormat: options.logFormat } : {}), onStop: () => responder.stop() });
}

function demoResponderConfig(token: string): ResponderConfig {
  const file = responderConfigSchema.parse({
    listen: { address: '127.0.0.1' },
    http: { port: 0 },
    tcp: { port: 0 },
    udp: { port: 0 },
    auth: { token_env: DEMO_TOKEN_ENV },
    limits: { max_bytes: '100MB', max_seconds: '10s' },
  });
  return { ...file, tokens: [token] };
}

export function demoAgentConfig(ports: ResponderPorts, options: { icmp: boolean; listen?: { address: string; port: number } }): AgentConfig {
  const responderUrl = `http://127.0.0.1:${ports.http}`;
  return agentConfigSchema.parse({
    site: { id: 'demo', name: 'Loopback demo' },
    listen: options.listen ?? { address: '127.0.0.1', port: DEMO_METRICS_PORT },
    modules: {
      ...(options.icmp ? { icmp: { kind: 'icmp', interval: '5s', packets: 5, timeout: '1s' } } : {}),
      tcp: { kind: 'tcp', interval: '5s', timeout: '1s' },
      latency: { kind: 'http', interval: '5s', timeout: '2s' },
      udp: { kind: 'udp', interval: '1s', packets: 10, timeout: '500ms' },
      // 20 MB takes well under a second on loopback; max_duration matches the responder's 10 s cap,
      // so a run (2 directions, up to 3 tries each) always ends before the next tick.
      throughput: { kind: 'throughput', schedule: '*/2 * * * *', spread: '0s', bytes: '20MB', warmup: '0s', max_duration: '10s', token_env: DEMO_TOKEN_ENV },
    },
    targets: [
      ...(options.icmp ? [{ name: 'loopback', module: 'icmp', host: '127.0.0.1', labels: { link: 'demo' } }] : []),
      { name: 'responder-tcp', module: 'tcp', host: '127.0.0.1', port: ports.tcp, labels: { link: 'demo' } },
      { name: 'responder-http', module: 'latency', url: `${responderUrl}/latency`, labels: { link: 'demo' } },
      { name: 'responder-udp', module: 'udp', host: '127.0.0.1', port: ports.udp, labels: { link: 'demo' } },
      { name: 'responder-throughput', module: 'throughput', url: responderUrl, labels: { link: 'demo' } },
    ],
  });
}
