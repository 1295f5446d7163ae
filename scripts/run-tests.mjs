#!/usr/bin/env node
// Runs the vitest suite and ends with the plain "N passed, N failed" line CI reads.
// vitest writes its failure report (which test, the assertion, the code) to stderr; CI logs may
// keep stdout only, so from the report's first heading on, vitest's stderr goes to stdout.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const args = process.argv.slice(2);
// `npm test` is the unit and root projects; the package project installs into the system (npm run test:package).
const projects = args.some((arg) => arg.startsWith('--project')) ? [] : ['--project', 'unit', '--project', 'root'];
// One results file per project selection, so `npm test` and `npm run test:package` can run side by side.
const resultsFile = projects.length > 0 ? '.test-results.json' : `.test-results.${args.filter((a) => !a.startsWith('-')).join('-') || 'custom'}.json`;
rmSync(resultsFile, { force: true });
const vitest = spawn(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`, ...projects, ...args],
  { stdio: ['inherit', 'inherit', 'pipe'] },
);

// "⎯⎯⎯⎯ Failed Tests 2 ⎯⎯⎯⎯", "⎯⎯⎯ Failed Suites 1 ⎯⎯⎯", "⎯⎯⎯ Unhandled Errors ⎯⎯⎯" (ANSI colours stripped).
const REPORT_HEADING = /⎯{3,} (Failed|Unhandled)/;
let inReport = false;
let partial = '';
const forward = (text) => {
  const lines = (partial + text).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    // eslint-disable-next-line no-control-regex
    if (!inReport && REPORT_HEADING.test(line.replace(/\x1b\[[0-9;]*m/g, ''))) inReport = true;
    (inReport ? process.stdout : process.stderr).write(`${line}\n`);
  }
};
vitest.stderr.on('data', (chunk) => forward(chunk.toString()));
const status = await new Promise((resolve) => vitest.on('close', (code) => resolve(code)));
if (partial) forward('\n');

let passed = 0;
let failed = 0;
try {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests;
  // A file that fails to load, or whose beforeAll fails (its tests then count as skipped), is still a failure.
  for (const suite of results.testResults ?? []) {
    if (suite.status === 'failed' && !(suite.assertionResults ?? []).some((test) => test.status === 'failed')) failed += 1;
  }
} catch (err) {
  console.log(`could not read ${resultsFile}: ${err.message}`);
  failed += 1;
}
const exitCode = status === 0 && failed === 0 ? 0 : 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode);
