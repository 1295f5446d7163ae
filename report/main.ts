// `linkmon report`: the monthly capacity report (docs/capacity.md). Reads the metric contract
// through the Prometheus HTTP API only; never runs at a site.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Dispatcher } from 'undici';
import { alertsConfig, type AlertsConfig } from '../alerts/src/config.js';
import { parseReportArgs, type Format, type ReportOptions } from './args.js';
import { collectReport } from './collect.js';
import { ReportError } from './errors.js';
import type { Report } from './model.js';
import { terminalProgress, type ProgressStream } from './progress.js';
import { displayUrl, prometheusClient } from './prometheus.js';
import { renderCsv } from './render/csv.js';
import { renderHtml } from './render/html.js';
import { renderJson } from './render/json.js';
import { renderMarkdown } from './render/markdown.js';

export interface ReportIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  /** Unix seconds. */
  now: () => number;
  /** For tests of edge cases (undici MockAgent). */
  dispatcher?: Dispatcher;
}

export function renderReport(report: Report, format: Format, config: AlertsConfig): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'csv':
      return renderCsv(report);
    case 'md':
      return renderMarkdown(report, config);
    case 'html':
      return renderHtml(report, config);
  }
}

export async function makeReport(options: ReportOptions, io: ReportIo, config: AlertsConfig = alertsConfig): Promise<Report> {
  const source = displayUrl(options.prometheus);
  const client = prometheusClient(options.prometheus, { timeoutMs: options.timeoutMs, ...(io.dispatcher ? { dispatcher: io.dispatcher } : {}) });
  const progress = terminalProgress(io.stderr);
  try {
    const collected = await collectReport(client, {
      month: options.month,
      count: options.months,
      config,
      source,
      progress: (done, total, month) => progress.update(done, total, month),
      ...(options.link !== undefined ? { link: options.link } : {}),
    });
    return { generatedAt: new Date(io.now() * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), ...collected };
  } finally {
    progress.end();
  }
}

function write(options: ReportOptions, text: string, io: ReportIo): void {
  if (!options.out) {
    io.stdout.write(text);
    return;
  }
  const file = 'file' in options.out ? options.out.file : join(options.out.dir, `linkmon-capacity-${options.month.label}.${options.format}`);
  try {
    if ('dir' in options.out) mkdirSync(options.out.dir, { recursive: true });
    // Whole or not at all: a reader of the folder never sees half a report.
    const partial = join(dirname(file), `.${process.pid}.partial`);
    writeFileSync(partial, text);
    renameSync(partial, file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ReportError('output', `cannot write ${file}: ${code ?? String(err)}`);
  }
}

/** Runs the command; returns the exit code (0 written, else the error's, with one line on stderr). */
export async function runReport(argv: readonly string[], io: ReportIo): Promise<number> {
  try {
    const options = parseReportArgs(argv, io.now());
    const report = await makeReport(options, io);
    write(options, renderReport(report, options.format, alertsConfig), io);
    return 0;
  } catch (err) {
    if (!(err instanceof ReportError)) throw err;
    io.stderr.write(`linkmon report: ${err.message}\n`);
    return err.exitCode;
  }
}
