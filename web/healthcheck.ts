#!/usr/bin/env node
/**
 * Container HEALTHCHECK: `node dist/web/healthcheck.js [URL]` exits 0 when GET URL answers 2xx.
 * Slim images have no curl, and a plain fetch cannot follow the web config: when the server turns
 * out to be HTTPS (it answers plain HTTP with Go's "HTTP request to an HTTPS server" 400), the
 * check retries over TLS without verifying the certificate (it only asks whether the local process
 * is alive, and sends nothing secret). For client-certificate setups, point
 * LINKMON_HEALTHCHECK_CLIENT_CERT/_KEY at a certificate the server accepts; with basic auth, list
 * /healthz in the web config's auth_excluded_paths.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pathToFileURL } from 'node:url';

export const DEFAULT_HEALTHCHECK_URL = 'http://127.0.0.1:9470/healthz';
const TIMEOUT_MS = 3000;

export interface HealthResult {
  ok: boolean;
  detail: string;
}

export async function checkHealth(url: URL, env: NodeJS.ProcessEnv = process.env, timeoutMs = TIMEOUT_MS): Promise<HealthResult> {
  try {
    const first = await get(url, env, timeoutMs);
    if (url.protocol === 'http:' && first.status === 400 && first.body.includes('HTTP request to an HTTPS server')) {
      return await checkHealth(new URL(url.href.replace(/^http:/, 'https:')), env, timeoutMs);
    }
    const ok = first.status >= 200 && first.status < 300;
    return { ok, detail: `${url.href}: HTTP ${first.status}` };
  } catch (err) {
    return { ok: false, detail: `${url.href}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

/**
 * One GET, bounded as a whole by a timer held here: the request's own `timeout` only measures
 * silence between packets, so a server trickling a byte now and then would hold the check forever.
 */
function get(url: URL, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ status: number; body: string }> {
  const certFile = env.LINKMON_HEALTHCHECK_CLIENT_CERT;
  const keyFile = env.LINKMON_HEALTHCHECK_CLIENT_KEY;
  const tls = url.protocol === 'https:' ? { rejectUnauthorized: false, ...(certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : {}) } : {};
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body = (body + chunk).slice(0, 4096)));
      res.on('end', () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    const deadline = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    req.end();
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = new URL(process.argv[2] ?? process.env.LINKMON_HEALTHCHECK_URL ?? DEFAULT_HEALTHCHECK_URL);
  const result = await checkHealth(url);
  process.stdout.write(`${result.ok ? 'healthy' : 'unhealthy'}: ${result.detail}\n`);
  process.exit(result.ok ? 0 : 1);
}
