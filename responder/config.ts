import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { ConfigError, formatIssues, parseYamlMapping, readConfigText, readSecretFile } from '../lib/config-file.js';
import { listenAddress } from '../web/listen.js';
import { logLevelSchema } from '../lib/log.js';
import { byteSize, duration } from '../lib/units.js';
import { loadTokens } from './tokens.js';
import { STAMP_BASE_BYTES, STAMP_MAX_PACKET_BYTES } from '../lib/stamp/packet.js';

export const RESPONDER_DEFAULT_PORTS = { http: 9480, https: 9481, tcp: 9482, udp: 9483 } as const;

/** 0 binds a free port (tests, the demo). */
const listenPort = z.number().int().min(0).max(65535, 'expected a port from 0 to 65535');

const listenerSection = (port: number) =>
  z.strictObject({ enabled: z.boolean().default(true), port: listenPort.default(port) }).default({ enabled: true, port });

export const responderConfigSchema = z
  .strictObject({
    listen: z.strictObject({ address: listenAddress.default('0.0.0.0') }).default({ address: '0.0.0.0' }),
    http: listenerSection(RESPONDER_DEFAULT_PORTS.http),
    https: z
      .strictObject({
        port: listenPort.default(RESPONDER_DEFAULT_PORTS.https),
        cert_file: z.string().min(1, 'expected the path of a PEM certificate file'),
        key_file: z.string().min(1, 'expected the path of a PEM private key file'),
      })
      .optional(),
    tcp: listenerSection(RESPONDER_DEFAULT_PORTS.tcp),
    udp: z
      .strictObject({
        enabled: z.boolean().default(true),
        port: listenPort.default(RESPONDER_DEFAULT_PORTS.udp),
        max_packet_bytes: z.number().int().min(STAMP_BASE_BYTES).max(9000).default(STAMP_MAX_PACKET_BYTES),
        /** Per-sender states kept (least recently used evicted): spoofed sources cannot exhaust memory. */
        max_senders: z.number().int().min(1).max(1_000_000).default(4096),
        rate_limit: z
          .strictObject({
            packets_per_second: z.number().positive().max(1_000_000).default(200),
            burst: z.number().int().min(1).max(1_000_000).default(100),
          })
          .default({ packets_per_second: 200, burst: 100 }),
      })
      .default({ enabled: true, port: RESPONDER_DEFAULT_PORTS.udp, max_packet_bytes: STAMP_MAX_PACKET_BYTES, max_senders: 4096, rate_limit: { packets_per_second: 200, burst: 100 } }),
    auth: z
      .strictObject({
        token_file: z.string().min(1).optional(),
        token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
      })
      .refine((auth) => auth.token_file !== undefined || auth.token_env !== undefined, { message: 'expected token_file and/or token_env' }),
    limits: z
      .strictObject({
        max_bytes: byteSize({ min: 1, max: 1024 ** 4 }).default(1024 ** 3),
        max_seconds: duration({ min: 1, max: 3600 }).default(30),
        max_concurrent: z.number().int().min(1).max(64).default(2),
        /** Requests of one test (same X-Linkmon-Test-Id) running at once: its parallel streams. */
        max_streams_per_test: z.number().int().min(1).max(64).default(16),
        idle_timeout: duration({ min: 0.1, max: 300 }).default(10),
        /** Open HTTP(S) connections, idle keep-alive ones included; when full, the one idle longest makes room. */
        max_connections: z.number().int().min(1).max(100_000).default(256),
        /** Open HTTP(S) connections from one source address (IPv6: one /64): a test's streams plus probes. */
        max_connections_per_source: z.number().int().min(1).max(100_000).default(32),
      })
      .default({ max_bytes: 1024 ** 3, max_seconds: 30, max_concurrent: 2, max_streams_per_test: 16, idle_timeout: 10, max_connections: 256, max_connections_per_source: 32 }),
    log: z.strictObject({ level: logLevelSchema.default('info') }).default({ level: 'info' }),
  })
  .superRefine((config, ctx) => {
    // HTTP, HTTPS and the TCP listener all bind TCP on listen.address: one port each.
    const tcpPorts: [string, number | undefined][] = [
      ['http', config.http.enabled ? config.http.port : undefined],
      ['https', config.https?.port],
      ['tcp', config.tcp.enabled ? config.tcp.port : undefined],
    ];
    if (config.limits.max_connections_per_source <= config.limits.max_streams_per_test) {
      ctx.addIssue({ code: 'custom', path: ['limits', 'max_connections_per_source'], message: `expected more than max_streams_per_test (${config.limits.max_streams_per_test}): one test's streams and the site's probes come from one address` });
    }
    const seen = new Map<number, string>();
    for (const [section, port] of tcpPorts) {
      if (port === undefined || port === 0) continue;
      const other = seen.get(port);
      if (other) ctx.addIssue({ code: 'custom', path: [section, 'port'], message: `${port} is also ${other}.port: the HTTP, HTTPS and TCP listeners need a TCP port each` });
      seen.set(port, section);
    }
  });

export type ResponderConfigFile = z.output<typeof responderConfigSchema>;

/** The validated file plus the secrets it points at, read once at load. */
export interface ResponderConfig extends ResponderConfigFile {
  tokens: readonly string[];
  tlsCredentials?: { cert: Buffer; key: Buffer };
}

export async function loadResponderConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ResponderConfig> {
  return resolveResponderConfig(parseResponderConfigText(await readConfigText(file), file), file, env);
}

export function parseResponderConfigText(text: string, file: string): ResponderConfigFile {
  const parsed = responderConfigSchema.safeParse(parseYamlMapping(text, file));
  if (!parsed.success) throw new ConfigError(file, formatIssues(parsed.error.issues));
  return parsed.data;
}

/** Reads tokens and TLS files; every problem is reported at once, naming the field. */
export async function resolveResponderConfig(config: ResponderConfigFile, file: string, env: NodeJS.ProcessEnv = process.env): Promise<ResponderConfig> {
  const problems: string[] = [];
  const tokens = await loadTokens(config.auth, env, problems);
  let tlsCredentials: ResponderConfig['tlsCredentials'];
  if (config.https) {
    const [cert, key] = await Promise.all([readSecretFile(config.https.cert_file, 'https.cert_file'), readSecretFile(config.https.key_file, 'https.key_file')]);
    for (const read of [cert, key]) if ('problem' in read) problems.push(read.problem);
    if (!('problem' in cert) && !('problem' in key)) {
      try {
        createSecureContext({ cert, key });
        tlsCredentials = { cert, key };
      } catch (err) {
        problems.push(`https.key_file: not a PEM private key matching the PEM certificate in https.cert_file (${(err as NodeJS.ErrnoException).code ?? 'rejected by OpenSSL'})`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { ...config, tokens, ...(tlsCredentials ? { tlsCredentials } : {}) };
}
