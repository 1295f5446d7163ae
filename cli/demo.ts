import { randomBytes } from 'node:crypto';
import { responderConfigSchema, type ResponderConfig } from '../responder/config.js';
import { startResponder, type ResponderPorts } from '../responder/server.js';
import { agentConfigSchema, type AgentConfig } from '../agent/config/schema.js';
import { createLogger, type LogLevel } from '../lib/log.js';
import { runAgentProcess } from '../agent/process.js';

/** The demo's throughput token lives only in this process's environment. */
const DEMO_TOKEN_ENV = 'LINKMON_DEMO_TOKEN';
export const DEMO_METRICS_PORT = 9470;

/**
 * The embedded default: a responder on loopback (HTTP, TCP, UDP reflector) and an agent probing
 * it, plus 127.0.0.1 by ICMP where the process may open raw sockets. No config file needed.
 */
export async function runDemo(logLevel: LogLevel = 'info'): Promise<void> {
  process.env[DEMO_TOKEN_ENV] = randomBytes(24).toString('base64url');
  const log = createLogger(logLevel).child({ component: 'responder' });
  const responder = await startResponder(demoResponderConfig(process.env[DEMO_TOKEN_ENV]), log);
  await runAgentProcess({ config: demoAgentConfig(responder.ports), logLevel, onStop: () => responder.stop() });
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

export function demoAgentConfig(ports: ResponderPorts): AgentConfig {
  const responderUrl = `http://127.0.0.1:${ports.http}`;
  return agentConfigSchema.parse({
    site: { id: 'demo', name: 'linkmon demo (loopback)' },
    listen: { address: '127.0.0.1', port: DEMO_METRICS_PORT },
    modules: {
      icmp: { kind: 'icmp', interval: '5s', packets: 5, timeout: '1s' },
      tcp: { kind: 'tcp', interval: '5s', timeout: '1s' },
      latency: { kind: 'http', interval: '5s', timeout: '2s' },
      udp: { kind: 'udp', interval: '1s', packets: 10, timeout: '500ms' },
      throughput: { kind: 'throughput', schedule: '*/2 * * * *', spread: '0s', bytes: '20MB', warmup: '0s', token_env: DEMO_TOKEN_ENV },
    },
    targets: [
      { name: 'loopback', module: 'icmp', host: '127.0.0.1', labels: { link: 'demo' } },
      { name: 'responder-tcp', module: 'tcp', host: '127.0.0.1', port: ports.tcp, labels: { link: 'demo' } },
      { name: 'responder-http', module: 'latency', url: `${responderUrl}/latency`, labels: { link: 'demo' } },
      { name: 'responder-udp', module: 'udp', host: '127.0.0.1', port: ports.udp, labels: { link: 'demo' } },
      { name: 'responder-throughput', module: 'throughput', url: responderUrl, labels: { link: 'demo' } },
    ],
  });
}
