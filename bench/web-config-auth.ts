/**
 * Basic auth over TLS with a bcrypt cost-10 web config (what production uses):
 *   - request latency: first login (bcrypt in the worker), cached login, wrong password, unknown user;
 *   - timing leak: wrong password for a real user vs an unknown user (should be the same);
 *   - main-thread event-loop delay while 32 bad logins arrive at once, with the worker, against the
 *     same compares run on the main thread (what the worker spares the probes' timers).
 * Run: npx tsx bench/web-config-auth.ts   (needs the openssl CLI). Writes bench/results/web-config-auth.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { startWebServer } from '../web/server.js';
import { createTestPki } from '../test/support/certs.js';

const USERS = 20;
const COST = 10;
const CONCURRENT_BAD_LOGINS = 32;

const pki = createTestPki({ name: 'bench-auth' });
const passwords = Array.from({ length: USERS }, (_, i) => `password-${i}`);
const hashes = passwords.map((p) => bcrypt.hashSync(p, COST));
const configFile = join(pki.dir, 'web.yml');
writeFileSync(
  configFile,
  `tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n${hashes.map((h, i) => `  user${i}: ${h}\n`).join('')}`,
);
const server = await startWebServer({ listen: { address: '127.0.0.1', port: 0 }, webConfigFile: configFile, handler: (_q, r) => r.end('ok\n'), log: pino({ level: 'silent' }) });
const agent = new Agent({ keepAlive: true, ca: pki.caCert });

function get(user: string, password: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path: '/metrics', agent, headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2));
};
const summary = (values: number[]) => ({ n: values.length, p50_ms: quantile(values, 0.5), p90_ms: quantile(values, 0.9), max_ms: quantile(values, 1) });

async function sequential(make: (i: number) => [string, string], expected: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < USERS; i += 1) {
    const [user, password] = make(i);
    const { status, ms } = await get(user, password);
    if (status !== expected) throw new Error(`expected ${expected}, got ${status}`);
    times.push(ms);
  }
  return times;
}

await get('warm-up', 'x'); // TLS handshake, worker start, dummy hash for cost 10
const firstLogin = await sequential((i) => [`user${i}`, passwords[i]!], 200);
const cachedLogin = await sequential((i) => [`user${i}`, passwords[i]!], 200);
// Interleaved, so drift in the machine's load hits both the same way.
const wrongPassword: number[] = [];
const unknownUser: number[] = [];
for (let round = 0; round < 2; round += 1) {
  for (let i = 0; i < USERS; i += 1) {
    const wrong = await get(`user${i}`, 'wrong');
    const unknown = await get(`nobody${i}`, 'wrong');
    if (wrong.status !== 401 || unknown.status !== 401) throw new Error('expected 401');
    wrongPassword.push(wrong.ms);
    unknownUser.push(unknown.ms);
  }
}

async function loopDelayDuring(work: () => Promise<unknown>): Promise<{ max_ms: number; p99_ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  await work();
  histogram.disable();
  return { max_ms: Number((histogram.max / 1e6).toFixed(1)), p99_ms: Number((histogram.percentile(99) / 1e6).toFixed(1)) };
}
const withWorker = await loopDelayDuring(() => Promise.all(Array.from({ length: CONCURRENT_BAD_LOGINS }, (_, i) => get(`user${i % USERS}`, `bad-${i}`))));
const onMainThread = await loopDelayDuring(async () => {
  for (let i = 0; i < CONCURRENT_BAD_LOGINS; i += 1) {
    bcrypt.compareSync(`bad-${i}`, hashes[i % USERS]!);
    await new Promise((r) => setImmediate(r));
  }
});

await server.close();
agent.destroy();
pki.cleanup();

const result = {
  date: new Date().toISOString(),
  machine: 'shared 2-core dev VM, other engineers running tests at the same time',
  node: process.version,
  bcrypt_cost: COST,
  request_latency: {
    first_login: summary(firstLogin),
    cached_login: summary(cachedLogin),
    wrong_password_known_user: summary(wrongPassword),
    unknown_user: summary(unknownUser),
  },
  timing_leak_p50_difference_ms: Number((quantile(unknownUser, 0.5) - quantile(wrongPassword, 0.5)).toFixed(2)),
  event_loop_delay_during_32_bad_logins: { bcrypt_in_worker: withWorker, same_compares_on_main_thread: onMainThread },
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'web-config-auth.json'), `${JSON.stringify(result, null, 2)}\n`);
