#!/usr/bin/env node
/**
 * Prints the bcrypt hash of a password for basic_auth_users in the web config:
 *   node dist/web/config-hash.js [--cost N]     (prompts; the password is not echoed)
 *   printf '%s' "$PASSWORD" | node dist/web/config-hash.js
 * The password never appears in the process list or shell history. Cost 10 (the toolkit's usual)
 * takes ~80 ms per check in linkmon's worker, paid once per scraper thanks to the cache.
 */
import bcrypt from 'bcryptjs';
import { pathToFileURL } from 'node:url';

export const DEFAULT_COST = 10;

export function parseCost(argv: readonly string[]): number {
  const at = argv.indexOf('--cost');
  if (at < 0) return DEFAULT_COST;
  const cost = Number(argv[at + 1]);
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error('--cost: expected a whole number from 4 to 31');
  return cost;
}

/** A line typed at a terminal without echoing it, or everything piped in (one trailing newline dropped). */
function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return new Promise((resolve, reject) => {
      let text = '';
      stdin.setEncoding('utf8');
      stdin.on('data', (chunk: string) => (text += chunk));
      stdin.on('end', () => resolve(text.replace(/\r?\n$/, '')));
      stdin.on('error', reject);
    });
  }
  process.stderr.write('password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          stdin.setRawMode(false);
          stdin.off('data', onData);
          stdin.pause();
          process.stderr.write('\n');
          resolve(text);
          return;
        }
        if (char === '\u0003') process.exit(130);
        text = char === '\u007f' ? text.slice(0, -1) : text + char;
      }
    };
    stdin.on('data', onData);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const cost = parseCost(process.argv.slice(2));
    const password = await readPassword();
    if (password === '') throw new Error('empty password');
    process.stdout.write(`${bcrypt.hashSync(password, cost)}\n`);
  } catch (err) {
    process.stderr.write(`web-config-hash: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
