// `npm run build` after the native addon: the production JavaScript, bundled by esbuild into dist/.
//   node scripts/bundle.mjs [--outdir DIR] [--metafile FILE] [--entry FILE …]
// (scripts/package-deb.sh bundles straight into the package; --metafile: esbuild's account of which
// source went into which output file, read by test/deploy/dockerfile.test.ts; --entry: bundle these
// files instead of the production entries, as production would bundle them: bench/node-floor.ts)
//
// Why a bundle: V8 keeps the source text of every script it loaded, and npm packages ship far more
// than the agent runs (zod's ~40 locales, undici's whole source): the agents' V8 heap is 2.1-2.5 MiB
// smaller after a full collection, RSS 3.2-3.4 MiB at 50 ICMP targets (bench/results/memory-analysis.md §6).
//
// Layout: every entry and chunk sits one folder below the output folder (dist/cli/linkmon.js,
// dist/web/healthcheck.js, dist/chunks/…), so paths taken from import.meta.url (the addon's
// candidates, the bcrypt worker, package.json) are the same from whichever file the code landed in.
// Code splitting keeps the dynamic imports of agent/probes/registry.ts, agent/components.ts and
// cli/linkmon.ts lazy: a config without SNMP never loads the chunk holding net-snmp.
import { rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: 'string' }, metafile: { type: 'string' }, entry: { type: 'string', multiple: true } } });
const outdir = resolve(values.outdir ?? `${ROOT}/dist`);

/** Loaded by file, not bundled: raw-socket (optional, native) from node_modules; the addon by path (agent/probes/native/addon.ts). */
const EXTERNAL = ['raw-socket', '*.node'];

/**
 * `createRequire(import.meta.url)('pkg')` loads a CommonJS package on first use from synchronous
 * code (agent/throughput/cron.ts, lib/log.ts). esbuild does not follow it; written as `require('pkg')`
 * it bundles the package behind a wrapper that runs it on that first call, as Node's require would.
 */
const lazyRequire = {
  name: 'lazy-require',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const contents = source.replace(/createRequire\(import\.meta\.url\)\('([^']+)'\)/g, (call, name) => (EXTERNAL.includes(name) ? call : `require('${name}')`));
      return { contents, loader: 'ts' };
    });
  },
};

/**
 * zod's namespace re-exports its ~40 locales (`z.locales`), 261 KB of the bundle that the agent never
 * uses: V8 would keep that text and build the objects at start-up. English, the default zod loads
 * by itself, stays as `z.locales.en`.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer }) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(importer) ? { path: new URL('../locales/en.js', `file://${importer}`).pathname, namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, ({ path }) => ({ contents: "export { default as en } from './en.js';", resolveDir: dirname(path), loader: 'js' }));
  },
};

// Bundled CommonJS packages require Node's built-in modules, and some read __filename when loaded
// (node-cron, for a daemon file it forks only for tasks given as a file, which linkmon never does):
// an ES module has neither of its own.
const banner = [
  "import { createRequire as __linkmonCreateRequire } from 'node:module';",
  "import { fileURLToPath as __linkmonFileURLToPath } from 'node:url';",
  'const require = __linkmonCreateRequire(import.meta.url);',
  'const __filename = __linkmonFileURLToPath(import.meta.url);',
  "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
].join(' ');

// Chunks are named by hash: stale ones from an earlier build would pile up beside the new ones.
rmSync(`${outdir}/chunks`, { recursive: true, force: true });

const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: values.entry ?? ['cli/linkmon.ts', 'web/healthcheck.ts', 'web/config-hash.ts', 'web/bcrypt-worker.ts'],
  outbase: '.',
  outdir,
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [lazyRequire, zodEnglishOnly],
  banner: { js: banner },
  // Whitespace and syntax only: names stay as written, so stack traces and pino's `err.type` read as
  // in the sources. Minifying identifiers too (with keepNames) made no difference to RSS or heap
  // (bench/results/memory-bundle-minify.md).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: values.metafile !== undefined,
});
if (values.metafile) writeFileSync(values.metafile, JSON.stringify(result.metafile));
