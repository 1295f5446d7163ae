import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Compares a password with a bcrypt hash; with no hash, compares it with a dummy hash of the given
 * cost so an unknown user costs as much as a known one.
 */
export type BcryptCompare = (password: string, hash: string | undefined, cost: number) => Promise<boolean>;

// bcryptjs is pure JavaScript: one compare at cost 10 holds a thread for ~80 ms. On the main thread
// that would stall probe timers and skew measured RTTs, so compares run in one worker, one at a
// time (the toolkit serialises them with a mutex for the same CPU reason).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { randomBytes } = require('node:crypto');
const bcrypt = require(workerData.bcryptjs);
const dummyHashes = new Map();
parentPort.on('message', ({ id, password, hash, cost }) => {
  let ok = false;
  try {
    if (hash === undefined) {
      // Making the dummy hash costs what a compare costs, so even the first unknown user is not faster.
      const dummy = dummyHashes.get(cost);
      if (dummy === undefined) dummyHashes.set(cost, bcrypt.hashSync(randomBytes(18).toString('base64'), cost));
      else bcrypt.compareSync(password, dummy);
    } else {
      ok = bcrypt.compareSync(password, hash);
    }
  } catch {
    ok = false;
  }
  parentPort.postMessage({ id, ok });
});
`;

export interface BcryptWorker {
  compare: BcryptCompare;
  /** Compares waiting or running now. */
  pending(): number;
  close(): Promise<void>;
}

/** Starts the worker lazily on the first compare; it does not keep the process alive. */
export function createBcryptWorker(): BcryptWorker {
  let worker: Worker | undefined;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (ok: boolean) => void; reject: (err: Error) => void }>();

  const failAll = (err: Error) => {
    for (const { reject } of waiting.values()) reject(err);
    waiting.clear();
    worker = undefined;
  };
  const start = (): Worker => {
    const started = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptjs: createRequire(import.meta.url).resolve('bcryptjs') } });
    started.unref();
    started.on('message', ({ id, ok }: { id: number; ok: boolean }) => {
      waiting.get(id)?.resolve(ok);
      waiting.delete(id);
    });
    started.on('error', (err) => failAll(err));
    started.on('exit', (code) => {
      if (worker === started) failAll(new Error(`bcrypt worker exited with code ${code}`));
    });
    return started;
  };

  return {
    compare: (password, hash, cost) =>
      new Promise((resolve, reject) => {
        worker ??= start();
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, password, hash, cost });
      }),
    pending: () => waiting.size,
    close: async () => {
      const running = worker;
      worker = undefined;
      failAll(new Error('bcrypt worker closed'));
      await running?.terminate();
    },
  };
}
