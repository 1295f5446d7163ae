#!/usr/bin/env node
// Entry point of `linkmon report` until the single CLI (cli/linkmon.ts) wires it in.
import { REPORT_USAGE } from './args.js';
import { runReport } from './main.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(REPORT_USAGE);
} else {
  process.exitCode = await runReport(argv, { stdout: process.stdout, stderr: process.stderr, now: () => Date.now() / 1000 });
}
