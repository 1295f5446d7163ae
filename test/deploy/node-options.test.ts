import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** The agent's V8 flags as each launcher sets them: the systemd unit and the container entrypoint. */
function agentNodeOptions(): { systemd: string | undefined; docker: string | undefined } {
  const unit = readFileSync(join(ROOT, 'deploy/systemd/linkmon-agent.service'), 'utf8');
  const entrypoint = readFileSync(join(ROOT, 'deploy/docker/entrypoint.sh'), 'utf8');
  return {
    systemd: /^Environment=NODE_OPTIONS=(.+)$/m.exec(unit)?.[1],
    docker: /^\s*export NODE_OPTIONS="([^"$]+)\$\{NODE_OPTIONS:\+ \$NODE_OPTIONS\}"$/m.exec(entrypoint)?.[1],
  };
}

describe("the agent's V8 flags", () => {
  it('are the same under systemd and in the container', () => {
    const { systemd, docker } = agentNodeOptions();
    expect(systemd).toMatch(/^--max-semi-space-size=\d+$/);
    expect(docker).toBe(systemd);
  });
});
