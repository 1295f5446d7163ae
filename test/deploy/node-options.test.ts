import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** The agent's memory settings as each launcher sets them: the systemd unit and the container entrypoint. */
function agentEnvironment(): { systemd: Record<string, string>; docker: Record<string, string> } {
  const unit = readFileSync(join(ROOT, 'deploy/systemd/linkmon-agent.service'), 'utf8');
  const entrypoint = readFileSync(join(ROOT, 'deploy/docker/entrypoint.sh'), 'utf8');
  const systemd = Object.fromEntries([...unit.matchAll(/^Environment=(\w+)=(.+)$/gm)].map((m) => [m[1]!, m[2]!]));
  // `export NAME="value${NAME:+ $NAME}"` (prepended) or `export NAME="${NAME:-value}"` (a default).
  const docker = Object.fromEntries(
    [...entrypoint.matchAll(/^\s*export (\w+)="(?:([^"$]+)\$\{\1:\+ \$\1\}|\$\{\1:-([^}]+)\})"$/gm)].map((m) => [m[1]!, (m[2] ?? m[3])!]),
  );
  return { systemd, docker };
}

describe("the agent's memory settings", () => {
  it('are the same under systemd and in the container', () => {
    const { systemd, docker } = agentEnvironment();
    expect(systemd).toEqual({ NODE_OPTIONS: expect.stringMatching(/^--max-semi-space-size=\d+$/), MALLOC_ARENA_MAX: expect.stringMatching(/^\d+$/) });
    expect(docker).toEqual(systemd);
  });
});
