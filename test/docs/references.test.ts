// Pointers into the documentation from shipped files and code comments, written as
// `docs/deploy.md "Section"` or `README "Section"`: the file exists and has a heading containing
// that text, or defines it as a term (`- **Window**: …`), so a renamed section must not leave a
// config comment pointing nowhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/linkmon-process.js';

const REFERENCE = /\b((?:[\w.-]+\/)*(?:README|[\w-]+\.md))\)?,?\s+\(?"([^"\n]{3,80})"/g;

/** The shipped and documented folders (not test/, node_modules/ or build output). */
const FOLDERS = ['agent', 'alerts', 'alertmanager', 'bench', 'cli', 'config', 'dashboards', 'deploy', 'docs', 'grafana', 'lib', 'prometheus', 'responder', 'scripts', 'web'];
const tracked = [
  'README.md',
  'Dockerfile',
  ...FOLDERS.flatMap((folder) => (readdirSync(join(REPO_ROOT, folder), { recursive: true }) as string[]).map((file) => join(folder, file))),
].filter((file) => /\.(ts|ya?ml|md|service|conf|sh)$|^Dockerfile$/.test(file) && !file.includes('node_modules') && !file.includes('/build/'));

const references = tracked.flatMap((file) =>
  [...readFileSync(join(REPO_ROOT, file), 'utf8').matchAll(REFERENCE)].map(([, doc, section]) => ({ file, doc: doc!, section: section! })),
);

/** A reference is relative to the referring file's folder, else to the repository root. */
function resolveDoc(from: string, doc: string): string | undefined {
  const name = doc === 'README' ? 'README.md' : doc;
  return [join(REPO_ROOT, dirname(from), name), join(REPO_ROOT, name)].find((path) => existsSync(path));
}

describe('section references', () => {
  it('finds the references (the pattern still matches how they are written)', () => {
    expect(references.length).toBeGreaterThan(3);
  });

  it.each(references.map((r) => [`${r.file} → ${r.doc} "${r.section}"`, r] as const))('%s', (_name, { file, doc, section }) => {
    const path = resolveDoc(file, doc);
    expect(path, `${doc} (from ${file})`).toBeDefined();
    const lines = readFileSync(path!, 'utf8').split('\n');
    const headings = lines.filter((line) => /^#{1,6} /.test(line)).map((line) => line.replace(/^#+ /, '').toLowerCase());
    const terms = lines.flatMap((line) => /^\s*- \*\*([^*]+)\*\*/.exec(line)?.[1]?.toLowerCase() ?? []);
    expect(
      headings.some((heading) => heading.includes(section.toLowerCase())) || terms.includes(section.toLowerCase()),
      `no heading containing "${section}", and no term "${section}", in ${doc}`,
    ).toBe(true);
  });
});

describe('docs/deploy.md', () => {
  it('starts with installing the Debian package', () => {
    const text = readFileSync(join(REPO_ROOT, 'docs/deploy.md'), 'utf8');
    expect(text.split('\n').filter((line) => line.trim() !== '').slice(0, 4)).toEqual(['# Deploying linkmon', '```sh', 'apt install ./linkmon_*.deb', '```']);
  });
});
