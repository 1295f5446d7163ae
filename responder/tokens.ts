import { createHash, timingSafeEqual } from 'node:crypto';
import { readSecretFile } from '../lib/config-file.js';

export const MIN_TOKEN_LENGTH = 16;

/**
 * Reads bearer tokens from `token_file` (one per line, blank lines and # comments ignored) and
 * `token_env` (comma- or whitespace-separated). Problems name the source and line, never the token.
 */
export async function loadTokens(auth: { token_file?: string | undefined; token_env?: string | undefined }, env: NodeJS.ProcessEnv, problems: string[]): Promise<string[]> {
  const tokens: string[] = [];
  if (auth.token_file !== undefined) {
    const read = await readSecretFile(auth.token_file, 'auth.token_file');
    if ('problem' in read) problems.push(read.problem);
    else {
      read.toString('utf8').split('\n').forEach((line, index) => {
        const token = line.trim();
        if (token === '' || token.startsWith('#')) return;
        if (token.length < MIN_TOKEN_LENGTH) problems.push(`auth.token_file: ${auth.token_file} line ${index + 1}: expected a token of at least ${MIN_TOKEN_LENGTH} characters`);
        else tokens.push(token);
      });
    }
  }
  if (auth.token_env !== undefined) {
    const raw = env[auth.token_env];
    if (raw === undefined || raw.trim() === '') {
      if (auth.token_file === undefined) problems.push(`auth.token_env: environment variable ${auth.token_env} is not set or empty`);
    } else {
      raw.split(/[\s,]+/).filter((t) => t !== '').forEach((token, index) => {
        if (token.length < MIN_TOKEN_LENGTH) problems.push(`auth.token_env: token ${index + 1} in ${auth.token_env}: expected at least ${MIN_TOKEN_LENGTH} characters`);
        else tokens.push(token);
      });
    }
  }
  if (tokens.length === 0 && problems.length === 0) problems.push('auth: no token found in token_file or token_env; the throughput endpoints would be open');
  return tokens;
}

/**
 * Checks `Authorization: Bearer <token>` against every valid token in constant time: digests
 * make the lengths equal, and every token is compared whatever the outcome of the others.
 */
export class BearerTokens {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  accepts(authorization: string | undefined): boolean {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    const presented = digest(match?.[1] ?? '');
    let accepted = false;
    for (const valid of this.digests) accepted = timingSafeEqual(presented, valid) || accepted;
    return match !== null && accepted;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
