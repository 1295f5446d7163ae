import { createPrivateKey, X509Certificate } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError, formatIssues, parseYamlMapping, readConfigText, readSecretFile } from '../lib/config-file.js';
import { CIPHER_SUITES, CURVES, TLS_VERSIONS, webConfigSchema, type ClientAuthType, type TlsServerConfig, type WebConfigFile } from './config-schema.js';

export interface TlsSettings {
  /** Options for https.createServer / server.setSecureContext (PEM already read from disk). */
  secureContext: SecureContextOptions;
  clientAuth: ClientAuthType;
  allowedSans?: readonly string[];
  certSubject: string;
  certNotAfter: Date;
}

/** A validated web config with every file it names already read, ready to serve with. */
export interface WebConfig {
  file: string;
  tls?: TlsSettings;
  /** user → bcrypt hash; empty: no basic auth. */
  users: ReadonlyMap<string, string>;
  headers: Readonly<Record<string, string>>;
  authExcludedPaths: ReadonlySet<string>;
  rateLimit?: { intervalSeconds: number; burst: number };
  /** The config file and the TLS files it names: a change to any of them means a reload. */
  watchedFiles: readonly string[];
}

/** Reads and validates a web config file and the certificates it names. Throws ConfigError naming the field. */
export async function loadWebConfig(file: string): Promise<WebConfig> {
  const parsed = parseWebConfigText(await readConfigText(file), file);
  const problems: string[] = [];
  const tlsFiles = parsed.tls_server_config ? resolveTlsFiles(parsed.tls_server_config, dirname(file)) : [];
  const tls = parsed.tls_server_config ? await loadTls(parsed.tls_server_config, dirname(file), problems) : undefined;
  if (problems.length > 0) throw new ConfigError(file, problems);
  const rate = parsed.rate_limit;
  return {
    file,
    ...(tls ? { tls } : {}),
    users: new Map(Object.entries(parsed.basic_auth_users)),
    headers: parsed.http_server_config.headers,
    authExcludedPaths: new Set(parsed.auth_excluded_paths),
    ...(rate && rate.interval > 0 ? { rateLimit: { intervalSeconds: rate.interval, burst: rate.burst } } : {}),
    watchedFiles: [file, ...tlsFiles],
  };
}

export function parseWebConfigText(text: string, file: string): WebConfigFile {
  // An empty file (or only comments) is a valid config that turns nothing on, as in the toolkit.
  const raw = /^(\s*(#.*)?(\r?\n|$))*$/.test(text) ? {} : parseYamlMapping(text, file);
  const parsed = webConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, formatIssues(parsed.error.issues));
  return parsed.data;
}

/** Relative paths are relative to the web config file, as in the toolkit. */
function resolveTlsFiles(tls: TlsServerConfig, dir: string): string[] {
  return [tls.cert_file, tls.key_file, tls.client_ca_file].flatMap((f) => (f === undefined ? [] : [resolve(dir, f)]));
}

type PemField = 'cert' | 'key' | 'client_ca';

async function loadTls(tls: TlsServerConfig, dir: string, problems: string[]): Promise<TlsSettings | undefined> {
  const at = (field: string) => `tls_server_config.${field}`;
  const readPem = async (field: PemField): Promise<{ pem: string; field: string } | { problem: string } | undefined> => {
    const inline = tls[field];
    if (inline !== undefined) return { pem: inline, field };
    const path = tls[`${field}_file`];
    if (path === undefined) return undefined;
    const resolved = resolve(dir, path);
    const read = await readSecretFile(resolved, at(`${field}_file`));
    return 'problem' in read ? read : { pem: read.toString('utf8'), field: `${field}_file` };
  };
  // Read together, reported in a fixed order.
  const [certPem, keyPem, caPem] = (await Promise.all([readPem('cert'), readPem('key'), readPem('client_ca')])).map((read) => {
    if (read && 'problem' in read) {
      problems.push(read.problem);
      return undefined;
    }
    return read;
  });

  const cert = certPem && parseOrReport(() => new X509Certificate(certPem.pem), `${at(certPem.field)}: expected a PEM certificate`, problems);
  const key = keyPem && parseOrReport(() => createPrivateKey(keyPem.pem), `${at(keyPem.field)}: expected an unencrypted PEM private key`, problems);
  if (cert && key && keyPem && certPem && !cert.checkPrivateKey(key)) {
    problems.push(`${at(keyPem.field)}: does not belong to the certificate in ${certPem.field}`);
  }
  if (caPem) {
    const blocks = caPem.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) problems.push(`${at(caPem.field)}: expected one or more PEM certificates, found none`);
    blocks.forEach((block, i) => parseOrReport(() => new X509Certificate(block), `${at(caPem.field)}: certificate ${i + 1} is not valid`, problems));
  }
  if (problems.length > 0 || !cert || !certPem || !keyPem) return undefined;

  const tls12Ciphers = tls.cipher_suites?.flatMap((name) => CIPHER_SUITES[name] ?? []);
  const secureContext: SecureContextOptions = {
    cert: certPem.pem,
    key: keyPem.pem,
    ...(caPem ? { ca: caPem.pem } : {}),
    minVersion: TLS_VERSIONS[tls.min_version],
    maxVersion: TLS_VERSIONS[tls.max_version],
    honorCipherOrder: tls.prefer_server_cipher_suites,
    // TLS 1.3 suites stay enabled whatever the list says, as in Go.
    ...(tls12Ciphers ? { ciphers: ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256', ...tls12Ciphers].join(':') } : {}),
    ...(tls.curve_preferences ? { ecdhCurve: tls.curve_preferences.map((c) => CURVES[c]).join(':') } : {}),
  };
  try {
    createSecureContext(secureContext);
  } catch (err) {
    problems.push(`tls_server_config: rejected by OpenSSL (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    return undefined;
  }
  return {
    secureContext,
    clientAuth: tls.client_auth_type,
    ...(tls.client_allowed_sans ? { allowedSans: tls.client_allowed_sans } : {}),
    certSubject: cert.subject,
    certNotAfter: new Date(cert.validTo),
  };
}

function parseOrReport<T>(parse: () => T, problem: string, problems: string[]): T | undefined {
  try {
    return parse();
  } catch (err) {
    problems.push(`${problem} (${(err as NodeJS.ErrnoException).code ?? 'unparsable'})`);
    return undefined;
  }
}
