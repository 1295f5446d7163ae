import { timerMs } from '../../lib/units.js';

/** What AttemptDeadline.within() gives when the deadline passes (or the caller stops) first. */
export const DEADLINE_PASSED = Symbol('deadline passed');

/**
 * The deadline of one probe attempt: a timer the prober holds and clears, never
 * AbortSignal.timeout. Node 20 can garbage-collect a timeout signal that only AbortSignal.any
 * refers to before it fires (Node issue 57736), and the attempt then waits for the kernel (~127 s
 * for an unanswered SYN); an active timer is never collected. `signal` aborts when the timer
 * expires or when the caller's signal (agent stop or reload) does, whichever comes first; the
 * prober destroys its socket on it. Always clear() when the attempt settles.
 */
export class AttemptDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  /** performance.now() when the attempt began. */
  readonly startedAt = performance.now();

  constructor(
    readonly timeoutSeconds: number,
    private readonly caller: AbortSignal,
  ) {
    this.timer = setTimeout(this.expire, timerMs(timeoutSeconds));
    if (caller.aborted) this.controller.abort();
    else caller.addEventListener('abort', this.stop, { once: true });
  }

  /** Aborted at the deadline or when the caller stops the attempt. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the timer fired (the attempt ran out of time), false when it was stopped or is still running. */
  get expired(): boolean {
    return this.timedOut;
  }

  /** Seconds left, for a step that has its own wait (e.g. the echo after a name lookup). */
  remainingSeconds(): number {
    return Math.max(0, this.timeoutSeconds - (performance.now() - this.startedAt) / 1000);
  }

  /**
   * Calls `onAbort` once when the deadline passes or the caller stops, at once if that already
   * happened; returns a function that removes it again.
   */
  whenAborted(onAbort: () => void): () => void {
    const signal = this.controller.signal;
    if (signal.aborted) {
      onAbort();
      return () => {};
    }
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  /** `work`'s value, or DEADLINE_PASSED as soon as the deadline passes or the caller stops; `work` itself runs on. */
  within<T>(work: Promise<T>): Promise<T | typeof DEADLINE_PASSED> {
    return new Promise((resolve, reject) => {
      const remove = this.whenAborted(() => resolve(DEADLINE_PASSED));
      work.then(
        (value) => {
          remove();
          resolve(value);
        },
        (err: unknown) => {
          remove();
          reject(err);
        },
      );
    });
  }

  clear(): void {
    clearTimeout(this.timer);
    this.caller.removeEventListener('abort', this.stop);
  }

  private readonly expire = (): void => {
    this.timedOut = true;
    this.caller.removeEventListener('abort', this.stop);
    this.controller.abort();
  };

  private readonly stop = (): void => {
    clearTimeout(this.timer);
    this.controller.abort();
  };
}
