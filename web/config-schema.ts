import { z } from 'zod';
import { duration } from '../lib/units.js';

/**
 * The Prometheus exporter-toolkit web config file (`--web.config.file`), field for field:
 * https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
 * Go names (TLS versions, cipher suites, curves, client auth types) are mapped to Node's here.
 */

export const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
export type TlsVersionName = keyof typeof TLS_VERSIONS;
const TLS_VERSION_ORDER: readonly TlsVersionName[] = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];
/** The toolkit still accepts this old name for RequireAnyClientCert. */
const LEGACY_CLIENT_AUTH_TYPES = { RequireClientCert: 'RequireAnyClientCert' } as const;
/** Policies under which a client certificate is checked against client_ca_file. */
export const VERIFYING_CLIENT_AUTH: readonly ClientAuthType[] = ['VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'];
/** Policies under which every client presents a certificate, so client_allowed_sans has something to match. */
const CERT_REQUIRED_CLIENT_AUTH: readonly ClientAuthType[] = ['RequireAnyClientCert', 'RequireAndVerifyClientCert'];

/**
 * Go crypto/tls cipher suite names (tls.CipherSuites()) → OpenSSL names. Like Go, the list only
 * governs TLS 1.2 and below; TLS 1.3 suites are accepted for compatibility and always enabled.
 */
export const CIPHER_SUITES: Readonly<Record<string, string | undefined>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_AES_128_GCM_SHA256: undefined,
  TLS_AES_256_GCM_SHA384: undefined,
  TLS_CHACHA20_POLY1305_SHA256: undefined,
};

export const CURVES = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' } as const;

/** Response headers the toolkit lets a web config set; a list restricts the value (compared as written). */
export const CONFIGURABLE_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

/** `$2a$`/`$2b$`/`$2y$`, two-digit cost, 53 characters of salt and hash (htpasswd -B, bcryptjs, Go). */
export const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

const oneOf = (what: string, values: readonly string[]) => (issue: { input?: unknown }) =>
  `expected ${what}: one of ${values.join(', ')}${typeof issue.input === 'string' ? `, got "${issue.input}"` : ''}`;

const tlsVersion = z.enum(TLS_VERSION_ORDER as [TlsVersionName, ...TlsVersionName[]], { error: oneOf('a TLS version', TLS_VERSION_ORDER) });
const filePath = z.string().min(1, 'expected a file path');
const pem = (what: string) => z.string().min(1, `expected ${what} in PEM format`);

const cipherSuite = z.string().refine((name) => Object.hasOwn(CIPHER_SUITES, name), {
  error: (issue) => `unknown cipher suite "${String(issue.input)}" (expected a Go crypto/tls name such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`,
});
const curve = z.enum(Object.keys(CURVES) as [keyof typeof CURVES, ...(keyof typeof CURVES)[]], { error: oneOf('a curve', Object.keys(CURVES)) });

const tlsServerConfigSchema = z
  .strictObject({
    cert_file: filePath.optional(),
    key_file: filePath.optional(),
    client_ca_file: filePath.optional(),
    /** Inline PEM alternatives to the *_file fields. */
    cert: pem('a certificate').optional(),
    key: pem('a private key').optional(),
    client_ca: pem('CA certificates').optional(),
    client_auth_type: z
      .enum([...CLIENT_AUTH_TYPES, ...(Object.keys(LEGACY_CLIENT_AUTH_TYPES) as (keyof typeof LEGACY_CLIENT_AUTH_TYPES)[])], { error: oneOf('a client auth type', CLIENT_AUTH_TYPES) })
      .transform((type): ClientAuthType => (type === 'RequireClientCert' ? LEGACY_CLIENT_AUTH_TYPES[type] : type))
      .default('NoClientCert'),
    client_allowed_sans: z.array(z.string().min(1)).min(1, 'expected at least one SAN').optional(),
    min_version: tlsVersion.default('TLS12'),
    max_version: tlsVersion.default('TLS13'),
    cipher_suites: z.array(cipherSuite).min(1, 'expected at least one cipher suite (or leave the field out)').optional(),
    prefer_server_cipher_suites: z.boolean().default(true),
    curve_preferences: z.array(curve).min(1, 'expected at least one curve (or leave the field out)').optional(),
  })
  .superRefine((tls, ctx) => {
    const problem = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
    const exclusive = (file: 'cert_file' | 'key_file' | 'client_ca_file', inline: 'cert' | 'key' | 'client_ca') => {
      if (tls[file] !== undefined && tls[inline] !== undefined) problem(inline, `give either ${inline} or ${file}, not both`);
    };
    exclusive('cert_file', 'cert');
    exclusive('key_file', 'key');
    exclusive('client_ca_file', 'client_ca');
    if (tls.cert_file === undefined && tls.cert === undefined) problem('cert_file', 'required (or give the certificate inline as cert)');
    if (tls.key_file === undefined && tls.key === undefined) problem('key_file', 'required (or give the key inline as key)');
    const hasClientCa = tls.client_ca_file !== undefined || tls.client_ca !== undefined;
    if (hasClientCa && tls.client_auth_type === 'NoClientCert') {
      problem('client_auth_type', 'a client CA is configured but client_auth_type is NoClientCert (use RequireAndVerifyClientCert)');
    }
    if (!hasClientCa && VERIFYING_CLIENT_AUTH.includes(tls.client_auth_type)) {
      problem('client_ca_file', `required when client_auth_type is ${tls.client_auth_type}`);
    }
    if (tls.client_allowed_sans && !CERT_REQUIRED_CLIENT_AUTH.includes(tls.client_auth_type)) {
      problem('client_allowed_sans', 'requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
    }
    if (TLS_VERSION_ORDER.indexOf(tls.max_version) < TLS_VERSION_ORDER.indexOf(tls.min_version)) {
      problem('max_version', `expected a version no lower than min_version (${tls.min_version})`);
    }
  });

const headersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    if (!Object.hasOwn(CONFIGURABLE_HEADERS, name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `this header can not be configured (allowed: ${Object.keys(CONFIGURABLE_HEADERS).join(', ')})` });
      continue;
    }
    const allowed = CONFIGURABLE_HEADERS[name];
    if (allowed && !allowed.includes(value)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `expected one of ${allowed.map((v) => `"${v}"`).join(', ')}, got "${value}"` });
    }
  }
});

// The value is never echoed: a mistake here is often a plain-text password.
const bcryptHash = z.string({ error: 'expected a bcrypt hash' }).regex(BCRYPT_HASH, 'expected a bcrypt hash such as "$2y$10$…" (53 characters after the cost), not a plain-text password');

export const webConfigSchema = z.strictObject({
  tls_server_config: tlsServerConfigSchema.optional(),
  http_server_config: z
    .strictObject({
      /** Accepted for compatibility; linkmon serves HTTP/1.1 only. */
      http2: z.boolean().default(true),
      headers: headersSchema.default({}),
    })
    .default({ http2: true, headers: {} }),
  basic_auth_users: z
    .record(z.string(), bcryptHash)
    .superRefine((users, ctx) => {
      for (const user of Object.keys(users)) {
        // Basic auth splits "user:password" at the first colon, so such a user could never log in.
        if (user.includes(':') || user === '') ctx.addIssue({ code: 'custom', path: [user], message: 'expected a user name without ":"' });
      }
    })
    .default({}),
  /** Paths served without basic auth (exact match), e.g. /healthz for container health checks. */
  auth_excluded_paths: z.array(z.string().startsWith('/', 'expected a path starting with "/"')).default([]),
  rate_limit: z
    .strictObject({
      /** Time between two requests on average; 0s disables the limiter. */
      interval: duration({ min: 0, max: 3600 }),
      burst: z.number().int().min(1, 'expected at least 1'),
    })
    .optional(),
});

export type WebConfigFile = z.output<typeof webConfigSchema>;
export type TlsServerConfig = z.output<typeof tlsServerConfigSchema>;

/** bcrypt's cost factor, as written in the hash. */
export function bcryptCost(hash: string): number {
  return Number(BCRYPT_HASH.exec(hash)?.[1] ?? 10);
}
