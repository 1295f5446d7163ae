// Registered for every test file (vitest.config.ts setupFiles): an unhandled promise rejection or
// uncaught exception while a test runs fails that test, naming the error, instead of surfacing
// later as an unattributed "unhandled error" (or being swallowed by a process handler under test).
import { afterEach } from 'vitest';

interface Caught {
  event: string;
  err: unknown;
}

const KEY = Symbol.for('linkmon.test.unhandled');
const store = globalThis as typeof globalThis & { [KEY]?: Caught[] };
// Once per worker process: test files share it, and listeners must not pile up.
if (!store[KEY]) {
  const caught: Caught[] = [];
  store[KEY] = caught;
  process.on('unhandledRejection', (err) => caught.push({ event: 'unhandled rejection', err }));
  process.on('uncaughtException', (err) => caught.push({ event: 'uncaught exception', err }));
}
const caught = store[KEY];

afterEach(async () => {
  // Rejections are reported after the microtask queue drains: let them arrive first.
  await new Promise((resolve) => setImmediate(resolve));
  if (caught.length === 0) return;
  const found = caught.splice(0);
  throw new Error(`${found.length} unhandled error(s) during this test:\n${found.map(({ event, err }) => `${event}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`).join('\n')}`);
});
