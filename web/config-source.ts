import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ConfigError } from '../lib/config-file.js';
import { loadWebConfig, type WebConfig } from './config-load.js';

/** While the file on disk is bad, it is re-read at most this often even if nothing seems to change. */
const RETRY_BAD_FILE_MS = 10_000;

export interface WebConfigSourceOptions {
  log: Logger;
  /** Rejects a new config that cannot be applied without a restart; returns the problem. */
  check?: (next: WebConfig, current: WebConfig) => string | undefined;
  now?: () => number;
}

/**
 * The web config currently in force. Like the toolkit, which re-reads the file on every request,
 * every get() looks at the file (and the TLS files it names) again, but only re-reads them when
 * their inode, size or mtime changed, so a scrape costs a few stat calls. A bad new file keeps the
 * last good config running and is logged once per distinct problem.
 */
export class WebConfigSource {
  private checking: Promise<WebConfig> | undefined;
  private seen: string;
  private lastFailure: { at: number; problems: string } | undefined;
  private readonly listeners: ((config: WebConfig) => void)[] = [];

  private constructor(
    private current: WebConfig,
    signature: string,
    private readonly options: WebConfigSourceOptions,
  ) {
    this.seen = signature;
    warnAboutCertificate(current, options.log);
  }

  /** Loads the file; a bad file at start is a ConfigError (the caller exits), not a warning. */
  static async open(file: string, options: WebConfigSourceOptions): Promise<WebConfigSource> {
    const config = await loadWebConfig(file);
    return new WebConfigSource(config, await signatureOf(config.watchedFiles), options);
  }

  get config(): WebConfig {
    return this.current;
  }

  /** Called with each newly accepted config. */
  onReload(listener: (config: WebConfig) => void): void {
    this.listeners.push(listener);
  }

  /** The config in force, after reloading it if its files changed. Never throws. */
  get(): Promise<WebConfig> {
    this.checking ??= this.refresh().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async refresh(): Promise<WebConfig> {
    const now = (this.options.now ?? Date.now)();
    const signature = await signatureOf(this.current.watchedFiles);
    const retryDue = this.lastFailure !== undefined && now - this.lastFailure.at >= RETRY_BAD_FILE_MS;
    if (signature === this.seen && !retryDue) return this.current;
    this.seen = signature;
    const { log } = this.options;
    try {
      const next = await loadWebConfig(this.current.file);
      const refused = this.options.check?.(next, this.current);
      if (refused) throw new ConfigError(this.current.file, [refused]);
      this.current = next;
      this.seen = await signatureOf(next.watchedFiles);
      this.lastFailure = undefined;
      log.info({ file: next.file, tls: next.tls !== undefined, basic_auth_users: next.users.size }, 'web config reloaded');
      warnAboutCertificate(next, log);
      for (const listener of this.listeners) listener(next);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      const key = problems.join('\n');
      if (this.lastFailure?.problems !== key) {
        log.error({ file: this.current.file, problems }, 'web config rejected; keeping the last good one');
      }
      this.lastFailure = { at: now, problems: key };
    }
    return this.current;
  }
}

async function signatureOf(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (file) => {
      try {
        const s = await stat(file, { bigint: true });
        return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch (err) {
        return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
      }
    }),
  );
  return parts.join('|');
}

function warnAboutCertificate(config: WebConfig, log: Logger): void {
  if (config.tls && config.tls.certNotAfter.getTime() < Date.now()) {
    log.warn({ file: config.file, subject: config.tls.certSubject, not_after: config.tls.certNotAfter.toISOString() }, 'the server certificate has expired; clients will refuse it');
  }
}
