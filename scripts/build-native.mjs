#!/usr/bin/env node
// `npm run build` step for linkmon's native addon (agent/probes/native: kernel receive timestamps
// for ICMP, TTL-limited probes for path tracing). The addon is optional: without python3, make and
// a C compiler it is not built, this says so, ICMP runs on raw-socket (also native, optional) or is
// reported unavailable, path tracing is reported unavailable; every other probe works. With the tools present, a failing build is an error. `npm run build:native`
// builds it unconditionally (the image and the Debian package do).
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const onPath = (command) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

const tools = [['python3'], ['make'], ['cc', 'gcc'], ['c++', 'g++']];
const missing = tools.filter((names) => !names.some(onPath)).map((names) => names[0]);
if (missing.length > 0) {
  console.error(
    `linkmon: native addon not built: ${missing.join(', ')} not found. Everything works without it except ICMP timing: ` +
      'ICMP then uses raw-socket if it was built, else ICMP probes are reported unavailable. ' +
      'To build it: apt install python3 make g++ (Debian/Ubuntu) or dnf install python3 make gcc-c++, then npm rebuild && npm run build.',
  );
  process.exit(0);
}
const build = spawnSync('npm', ['run', 'build:native', '--silent'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
