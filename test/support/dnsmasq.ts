// A real DNS server for resolver and DNS probe tests: Debian's dnsmasq (package dnsmasq-base)
// serving only the records a test gives it, on loopback or inside a lab namespace, and logging
// every query it receives. No upstream servers: names under `zone` that it does not know are
// NXDOMAIN, names elsewhere REFUSED.
import { spawn } from 'node:child_process';
import { inNetns } from '../lab/run.js';
import { gracefulStop } from './exit-cleanup.js';
import { freeLoopbackPort } from './ports.js';
import { waitFor } from './linkmon-process.js';

export interface Dnsmasq {
  address: string;
  port: number;
  /** For NameResolver's `servers`, e.g. "127.0.0.1:40123". */
  server: string;
  /** Queries received so far for `name` (any type), or for every name. */
  queries(name?: string): number;
  stop(): Promise<void>;
}

export interface DnsmasqOptions {
  /** dnsmasq's own record options, e.g. `--host-record=www.lab.test,198.18.0.10`. */
  records: string[];
  /** TTL of its answers (`--local-ttl`), default 300; 0: not to be cached. */
  ttlSeconds?: number;
  /** The zone it is authoritative-ish for (`--local`), default lab.test. */
  zone?: string;
  /** Default 127.0.0.1 on a free port; in `netns`, the address and port given (e.g. a dc address and 53). */
  address?: string;
  port?: number;
  netns?: string;
}

export async function startDnsmasq(options: DnsmasqOptions): Promise<Dnsmasq> {
  const address = options.address ?? '127.0.0.1';
  // dnsmasq listens on UDP and TCP of one port; a free TCP port is almost always free for UDP too, and a clash fails the start loudly.
  const port = options.port ?? (await freeLoopbackPort());
  const args = [
    'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--pid-file=', '--log-facility=-', '--log-queries',
    `--port=${port}`, `--listen-address=${address}`, '--bind-interfaces', `--local-ttl=${options.ttlSeconds ?? 300}`, `--local=/${options.zone ?? 'lab.test'}/`,
    ...(process.getuid?.() === 0 ? ['--user=nobody', '--group=nogroup'] : []),
    ...options.records,
  ];
  const argv = options.netns ? inNetns(options.netns, args) : args;
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = gracefulStop(child);
  let output = '';
  let partial = '';
  const queried: string[] = [];
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const name = / query\[\w+\] (\S+) from /.exec(line)?.[1];
      if (name !== undefined) queried.push(name);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    // It logs "started" once its sockets are bound, and exits if binding fails.
    await waitFor(`dnsmasq on ${address}:${port}`, () => {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited ${child.exitCode}:\n${output}`);
      return output.includes('started, version') ? true : undefined;
    }, 10_000, 20);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    port,
    server: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`,
    queries: (name) => queried.filter((q) => name === undefined || q === name).length,
    stop,
  };
}
