// Run by test/agent/lazy-loading.test.ts in a fresh process (node --import tsx): applies an
// ICMP-only config, then a reload that adds the HTTP kind, a throughput test and an SNMP section,
// and prints after each the npm packages the process has loaded so far, one JSON line per step.
// Nothing is probed for real: intervals and the cron schedule are far longer than the run, and
// the addresses are loopback.
import { register } from 'node:module';
import { createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

// ES modules (and CommonJS ones imported from them) pass the loader's load hook; modules pulled by
// require() appear in require.cache. Both together are everything this process has loaded.
const { port1, port2 } = new MessageChannel();
const loadedUrls: string[] = [];
port1.on('message', (url: string) => loadedUrls.push(url));
port1.unref();
const HOOK = `let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) { port.postMessage(url); return next(url, context); }`;
register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { port: port2 }, transferList: [port2] });

const MARKER = 'data:text/javascript,/*loaded-packages marker*/export default ';
const requireCache = createRequire(import.meta.url).cache;

/** npm packages loaded so far; a marker module's load, received last, means every earlier URL was. */
async function loadedPackages(): Promise<string[]> {
  const received = new Promise<void>((resolve) => {
    const seen = (url: string) => {
      if (!url.startsWith(MARKER)) return;
      port1.off('message', seen);
      resolve();
    };
    port1.on('message', seen);
  });
  await import(`${MARKER}${loadedUrls.length}`);
  await received;
  const names = new Set<string>();
  for (const where of [...loadedUrls, ...Object.keys(requireCache)]) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(where);
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}

const pino = (await import('pino')).default;
const { Agent } = await import('../../agent/agent.js');
const { parseConfigText } = await import('../../agent/config/load.js');

const ICMP_ONLY = `
site: {id: lazy, name: Lazy}
listen: {address: 127.0.0.1, port: 0}
modules:
  ping: {kind: icmp, interval: 1h, timeout: 1s}
targets:
  - {name: lo, module: ping, host: 127.0.0.1}
`;
const EVERY_LIBRARY = `${ICMP_ONLY}
  - {name: dc, module: tp, url: "http://127.0.0.1:9/"}
  - {name: web, module: web, url: "http://127.0.0.1:9/"}
snmp: {devices: [{name: r1, address: 127.0.0.1, port: 9, version: v2c, community_env: LAZY_COMMUNITY, interval: 1h, interfaces: [{if_name: lo}]}]}
`.replace('modules:\n', 'modules:\n  web: {kind: http, interval: 1h}\n  tp: {kind: throughput, schedule: "0 0 1 1 *", token_env: LAZY_TOKEN}\n');

process.env.LAZY_COMMUNITY = 'public';
process.env.LAZY_TOKEN = 'token';
const agent = new Agent(pino({ level: 'silent' }));
await agent.apply(parseConfigText(ICMP_ONLY, 'icmp-only.yaml'));
process.stdout.write(`${JSON.stringify({ step: 'icmp only', packages: await loadedPackages() })}\n`);
await agent.apply(parseConfigText(EVERY_LIBRARY, 'every-library.yaml'));
process.stdout.write(`${JSON.stringify({ step: 'reload', packages: await loadedPackages() })}\n`);
await agent.stop();
port1.close();
