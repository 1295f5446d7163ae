/**
 * Exact binomial maths for judging measured loss against an injected drop rate: with `trials`
 * echoes each lost with probability `probability`, the number lost lies in [low, high] with at
 * least `confidence` probability (equal tails). Computed from the exact pmf, no normal
 * approximation, so it is right for 0% and small rates too.
 */
export interface CountInterval {
  low: number;
  high: number;
}

export function binomialInterval(trials: number, probability: number, confidence = 0.95): CountInterval {
  if (!Number.isInteger(trials) || trials < 0) throw new RangeError(`trials must be a non-negative integer, got ${trials}`);
  if (!(probability >= 0 && probability <= 1)) throw new RangeError(`probability must be in [0, 1], got ${probability}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const tail = (1 - confidence) / 2;
  const pmf = binomialPmf(trials, probability);
  let low = 0;
  for (let below = 0; low < trials && below + pmf[low]! <= tail; low++) below += pmf[low]!;
  let high = trials;
  for (let above = 0; high > 0 && above + pmf[high]! <= tail; high--) above += pmf[high]!;
  return { low, high };
}

/** Whether `failures` out of `trials` is consistent with a loss probability of `probability`. */
export function lossConsistentWith(failures: number, trials: number, probability: number, confidence = 0.95): boolean {
  const { low, high } = binomialInterval(trials, probability, confidence);
  return failures >= low && failures <= high;
}

/** P(X = k) for k = 0..n, computed in log space so large n does not overflow. */
export function binomialPmf(n: number, p: number): number[] {
  if (p === 0) return Array.from({ length: n + 1 }, (_, k) => (k === 0 ? 1 : 0));
  if (p === 1) return Array.from({ length: n + 1 }, (_, k) => (k === n ? 1 : 0));
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const pmf: number[] = [];
  let logChoose = 0; // log C(n, k), built incrementally
  for (let k = 0; k <= n; k++) {
    if (k > 0) logChoose += Math.log(n - k + 1) - Math.log(k);
    pmf.push(Math.exp(logChoose + k * logP + (n - k) * logQ));
  }
  return pmf;
}

export function lossRatio(failures: number, attempts: number): number {
  return attempts === 0 ? 0 : failures / attempts;
}
