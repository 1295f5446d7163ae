/**
 * Why `linkmon report` could not make its report. Each is printed as one line naming the cause and
 * ends the command with the kind's exit code (docs/capacity.md, "linkmon report").
 */
export type ReportErrorKind = 'usage' | 'unreachable' | 'timeout' | 'query' | 'output' | 'no_data' | 'unknown_link';

export const EXIT_CODES: Record<ReportErrorKind, number> = {
  usage: 2,
  unreachable: 1,
  timeout: 1,
  query: 1,
  output: 1,
  no_data: 3,
  unknown_link: 3,
};

export class ReportError extends Error {
  constructor(
    readonly kind: ReportErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ReportError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}
