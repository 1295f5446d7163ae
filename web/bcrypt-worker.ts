// The worker thread behind web/bcrypt.ts: answers one compare request at a time.
import { randomBytes } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export interface CompareRequest {
  id: number;
  password: string;
  /** Absent for an unknown user: a dummy hash of `cost` is compared instead. */
  hash: string | undefined;
  cost: number;
}

export interface CompareReply {
  id: number;
  ok: boolean;
}

const dummyHashes = new Map<number, string>();

function compare({ password, hash, cost }: CompareRequest): boolean {
  try {
    if (hash !== undefined) return bcrypt.compareSync(password, hash);
    // Making the dummy hash costs what a compare costs, so even the first unknown user is not faster.
    const dummy = dummyHashes.get(cost);
    if (dummy === undefined) dummyHashes.set(cost, bcrypt.hashSync(randomBytes(18).toString('base64'), cost));
    else bcrypt.compareSync(password, dummy);
  } catch {
    // a malformed hash never matches
  }
  return false;
}

parentPort?.on('message', (request: CompareRequest) => {
  const reply: CompareReply = { id: request.id, ok: compare(request) };
  parentPort?.postMessage(reply);
});
