import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { CompareReply, CompareRequest } from './bcrypt-worker.js';

/**
 * Compares a password with a bcrypt hash; with no hash, compares it with a dummy hash of the given
 * cost so an unknown user costs as much as a known one.
 */
export type BcryptCompare = (password: string, hash: string | undefined, cost: number) => Promise<boolean>;

// bcryptjs is pure JavaScript: one compare at cost 10 holds a thread for ~80 ms. On the main thread
// that would stall probe timers and skew measured RTTs, so compares run in one worker, one at a
// time (the toolkit serialises them with a mutex for the same CPU reason).
/**
 * The worker module: dist/web/bcrypt-worker.js in production, an entry of its own in the bundle
 * (scripts/bundle.mjs), whose files all sit one folder below dist/, so `../web/` finds it from
 * whichever of them this code landed in. Run from the TypeScript sources (tests, tsx), the worker
 * first registers tsx's loader, which a worker does not inherit.
 */
function workerEntry(): { filename: string | URL; options: WorkerOptions } {
  if (!import.meta.url.endsWith('.ts')) return { filename: new URL('../web/bcrypt-worker.js', import.meta.url), options: {} };
  const source = JSON.stringify(new URL('./bcrypt-worker.ts', import.meta.url).href);
  return { filename: `import('tsx/esm/api').then((tsx) => tsx.register()).then(() => import(${source}))`, options: { eval: true } };
}

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
    const { filename, options } = workerEntry();
    const started = new Worker(filename, options);
    started.unref();
    started.on('message', ({ id, ok }: CompareReply) => {
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
        const request: CompareRequest = { id, password, hash, cost };
        worker.postMessage(request);
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
