import type { Logger } from 'pino';

/** Sources named in a summary line; the rest are only counted. */
const SOURCES_NAMED = 5;
/** Distinct sources remembered per interval (a spoofed flood must not grow this without bound). */
const SOURCES_KEPT = 1000;

/**
 * A log line per event an attacker can repeat at will (failed logins, refused connections), rate
 * limited: the first event after a quiet interval is logged at once, the rest of the interval goes
 * into one summary line at its end (counts by reason, the busiest sources).
 */
export class SummarizedLog {
  private timer: NodeJS.Timeout | undefined;
  private count = 0;
  private readonly byReason = new Map<string, number>();
  private readonly bySource = new Map<string, number>();
  private otherSources = 0;

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly intervalMs = 60_000,
  ) {}

  record(reason: string, source: string | undefined, fields: Record<string, unknown> = {}): void {
    if (this.timer === undefined) {
      this.log.warn({ reason, remote: source, ...fields }, `${this.message} (further ones are summarised every ${this.intervalMs / 1000}s)`);
      this.arm();
      return;
    }
    this.count += 1;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    const key = source ?? 'unknown';
    if (this.bySource.has(key) || this.bySource.size < SOURCES_KEPT) this.bySource.set(key, (this.bySource.get(key) ?? 0) + 1);
    else this.otherSources += 1;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  private flush(): void {
    if (this.count === 0) {
      this.timer = undefined;
      return;
    }
    const busiest = [...this.bySource].sort((a, b) => b[1] - a[1]).slice(0, SOURCES_NAMED);
    this.log.warn(
      {
        count: this.count,
        interval_seconds: this.intervalMs / 1000,
        reasons: Object.fromEntries(this.byReason),
        sources: this.bySource.size + (this.otherSources > 0 ? 1 : 0),
        busiest_sources: Object.fromEntries(busiest),
      },
      `${this.message}: ${this.count} more in the last ${this.intervalMs / 1000}s`,
    );
    this.count = 0;
    this.byReason.clear();
    this.bySource.clear();
    this.otherSources = 0;
    this.arm();
  }
}
