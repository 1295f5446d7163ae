/** After the last request of a test with an id ends, its slot is kept this long for the next one. */
export const TEST_LINGER_MS = 2000;

interface Slot {
  /** When its newest request started. */
  startedAt: number;
  /** Requests of this test running now. */
  requests: number;
  linger?: NodeJS.Timeout;
}

/**
 * A fixed number of concurrent throughput tests. Requests that carry the same test id (one test's
 * parallel streams, its warm-up and measured requests, its download then upload) share one slot,
 * up to `maxStreams` at once; a request without an id is a test of its own. Every release
 * function works exactly once, however the request ends.
 */
export class TestSlots {
  private readonly slots = new Set<Slot>();
  private readonly byTest = new Map<string, Slot>();

  constructor(
    private readonly capacity: number,
    private readonly maxSeconds: number,
    private readonly maxStreams: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A release function, or undefined when every slot is taken (or the test has all its streams). */
  tryAcquire(testKey?: string): (() => void) | undefined {
    let slot = testKey === undefined ? undefined : this.byTest.get(testKey);
    if (slot) {
      if (slot.requests >= this.maxStreams) return undefined;
      clearTimeout(slot.linger);
      slot.linger = undefined;
    } else {
      if (this.slots.size >= this.capacity) return undefined;
      slot = { startedAt: this.now(), requests: 0 };
      this.slots.add(slot);
      if (testKey !== undefined) this.byTest.set(testKey, slot);
    }
    slot.requests += 1;
    // The test ends no later than max_seconds after its newest request started.
    slot.startedAt = this.now();
    const taken = slot;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      taken.requests -= 1;
      if (taken.requests > 0) return;
      if (testKey === undefined) return void this.slots.delete(taken);
      taken.linger = setTimeout(() => {
        this.slots.delete(taken);
        this.byTest.delete(testKey);
      }, TEST_LINGER_MS);
      taken.linger.unref();
    };
  }

  /** Slots held by tests with requests running (lingering slots are not counted). */
  get inUse(): number {
    return [...this.slots].filter((slot) => slot.requests > 0).length;
  }

  /** Whole seconds until the soonest running test reaches the time cap: an upper bound on the wait. */
  retryAfterSeconds(): number {
    let soonest = this.maxSeconds;
    for (const slot of this.slots) soonest = Math.min(soonest, this.maxSeconds - (this.now() - slot.startedAt) / 1000);
    return Math.max(1, Math.ceil(soonest));
  }
}
