// What `linkmon report` found, before it is written as JSON, CSV, Markdown or HTML. Every number
// comes from a query of alerts/src/capacity-monthly.ts, or is derived from them in decision.ts and flags.ts.

/** One month of one link. Figures are keyed as in capacity-monthly.ts; a figure without data is absent, never 0. */
export interface LinkMonth {
  month: string;
  /** Figures of the link (by: 'link'). */
  figures: Record<string, number>;
  /** Figures per direction (by: 'direction'): direction → key → value. */
  directions: Record<string, Record<string, number>>;
  /** Figures per site (by: 'site'): site → key → value. */
  sites: Record<string, Record<string, number>>;
  /** Busy windows the month has with no gap (its weekdays × busy windows per day). */
  busyWindowsExpected: number;
}

export interface LinkTerms {
  capacityBytes: number;
  stepBytes: number;
  oneOffCostGbp: number;
  annualCostGbp: number;
  leadTimeSeconds: number;
  thresholds: Record<string, number>;
}

/** The once-a-day least-squares fit newest at the end of the report month. */
export interface Forecast {
  /** When the fit was evaluated (Unix seconds). */
  asOf: number;
  /** Slope of the line, share of capacity per day. */
  slopePerDay: number;
  /** The line's value at `asOf`. */
  valueAtFit: number;
  /** The line at asOf + lead time + margin. */
  forecast: number;
  /** When the line crosses the forecast threshold (Unix seconds), for a rising line. */
  crossing?: number;
}

export interface Rules {
  /** The rolling busy-hour p95 at the end of the month (the step rule's figure). */
  p95BusyLong?: number;
  stepRule: boolean;
  forecastRule: boolean;
  releaseRule: boolean;
  stepsRecommended?: number;
}

export interface Decision {
  action: 'order' | 'release' | 'none';
  steps?: number;
  /** Order by this date (Unix seconds); the end of the report month when the order is due at once. */
  orderBy?: number;
  oneOffCostGbp?: number;
  addedAnnualCostGbp?: number;
  annualSavingGbp?: number;
  sentence: string;
}

export interface LinkReport {
  link: string;
  terms: LinkTerms;
  months: LinkMonth[];
  forecast?: Forecast;
  rules: Rules;
  decision: Decision;
  /** Data-quality findings, one line each, with the month they concern. */
  flags: string[];
}

export interface Report {
  generatedAt: string;
  /** The Prometheus (or long-term store) URL, without credentials. */
  source: string;
  month: string;
  /** Unix seconds of the end of the report month: where the month-end figures are evaluated. */
  monthEnd: number;
  months: string[];
  links: LinkReport[];
}
