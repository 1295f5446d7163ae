// `linkmon validate` for both roles (cli/validate.ts), in process: every shipped example passes,
// and a bad file of either role gets that role's errors.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfigFile } from '../../cli/validate.js';
import { ConfigError } from '../../lib/config-file.js';
import { REPO_ROOT } from '../support/linkmon-process.js';

const EXAMPLES = join(REPO_ROOT, 'config/examples');

describe('linkmon validate', () => {
  it.each(readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')))('accepts config/examples/%s', async (name) => {
    const file = join(EXAMPLES, name);
    const lines = (await validateConfigFile(file)).split('\n');
    if (name !== 'responder.yaml') return expect(lines).toEqual([expect.stringMatching(new RegExp(`^${file}: valid \\(site [a-z_]+, \\d+ modules, \\d+ targets, about \\d+ series`))]);
    // Its token file, token variable and TLS files belong to the data-centre host: named, not checked here.
    expect(lines).toEqual([
      `${file}: valid responder config (http, https, tcp, udp on 0.0.0.0)`,
      '  not checked here: auth.token_file /etc/linkmon/responder-tokens (no such file on this machine); the responder reads it at start',
      '  not checked here: https.cert_file /etc/linkmon/responder.crt (no such file on this machine); the responder reads it at start',
      '  not checked here: https.key_file /etc/linkmon/responder.key (no such file on this machine); the responder reads it at start',
      '  not checked here: auth.token_env LINKMON_RESPONDER_TOKENS (not set here); the responder reads it at start',
    ]);
  });

  it('checks the secrets a responder config names where they exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkmon-validate-'));
    try {
      writeFileSync(join(dir, 'tokens'), 'short\n');
      writeFileSync(join(dir, 'responder.yaml'), `auth: { token_file: ${join(dir, 'tokens')} }\n`);
      const error = await validateConfigFile(join(dir, 'responder.yaml')).catch((err: unknown) => err);
      expect((error as ConfigError).problems).toEqual([`auth.token_file: ${join(dir, 'tokens')} line 1: expected a token of at least 16 characters`]);
      writeFileSync(join(dir, 'tokens'), 'a-token-long-enough-0123\n');
      expect(await validateConfigFile(join(dir, 'responder.yaml'))).toBe(`${join(dir, 'responder.yaml')}: valid responder config (http, tcp, udp on 0.0.0.0, 1 tokens)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports a responder file's problems against the responder's fields", async () => {
    const error = await validateConfigFile(join(REPO_ROOT, 'test/fixtures/config/responder-bad/unknown-field.yaml')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(['http.port: expected a port from 0 to 65535', 'udp: unknown field "rate"']);
  });

  it("reports an agent file's problems against the agent's fields", async () => {
    const error = await validateConfigFile(join(REPO_ROOT, 'test/fixtures/config/bad/missing-site.yaml')).catch((err: unknown) => err);
    expect((error as ConfigError).problems).toContain('site: required (expected object)');
  });
});
