// `linkmon ... --web.config.file FILE` on the command line: validate checks the file too, and a bad
// web config stops the agent and the responder before they start (exit 2), naming file and field.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/linkmon-process.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/web-config');
const AGENT_CONFIG = join(REPO_ROOT, 'config/examples/esb.yaml');

function linkmon(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'cli/linkmon.ts', ...args], { cwd: REPO_ROOT, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('--web.config.file on the command line', () => {
  it('validate checks the web config too', async () => {
    const good = join(FIXTURES, 'good/basic-auth.yml');
    const ok = await linkmon(['validate', '--config', AGENT_CONFIG, '--web.config.file', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${good}: valid (no TLS, 2 basic auth users)\n`);

    const bad = join(FIXTURES, 'bad/plain-text-password.yml');
    const rejected = await linkmon(['validate', '--config', AGENT_CONFIG, '--web.config.file', bad]);
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toBe(
      `linkmon: invalid config ${bad}:\n  - basic_auth_users.prometheus: expected a bcrypt hash such as "$2y$10$…" (53 characters after the cost), not a plain-text password\n`,
    );
  });

  it('a bad web config stops the agent before it starts probing', async () => {
    const bad = join(FIXTURES, 'bad/missing-key.yml');
    const run = await linkmon(['agent', '--config', AGENT_CONFIG, '--web.config.file', bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`linkmon: invalid config ${bad}:\n  - tls_server_config.key_file: required (or give the key inline as key)\n`);
    expect(run.stdout).not.toContain('config applied');
  });
});
