// `npm run build` on a machine without a C toolchain (scripts/build-native.mjs): the native addon is
// skipped with a notice naming what to install, and the build goes on (exit 0).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../support/linkmon-process.js';

it('skips the native addon with a notice when python3, make and a compiler are missing', () => {
  const bin = mkdtempSync(join(tmpdir(), 'linkmon-nocc-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const run = spawnSync(join(bin, 'node'), [join(REPO_ROOT, 'scripts/build-native.mjs')], { env: { PATH: bin }, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('native addon not built: python3, make, cc, c++ not found');
    expect(run.stderr).toContain('apt install python3 make g++');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
