/**
 * Order-respecting label smoothing for ordered classes (rating levels 1-5, low/high).
 *
 * For K ordered classes and true index y the soft target is
 *     q_j = (1 - eps) * g_j + eps / K,    g_j ∝ exp(-(j - y)^2 / (2 sigma^2)),
 * so probability mass moves to the neighbouring levels first instead of evenly to all classes
 * (a rating of 3 is more plausibly a 4 than a 1).
 *
 * Defaults, and why:
 *  - sigma = 0.5: a neighbour gets e^-2 ≈ 0.135 of the true level's kernel weight and a level two
 *    away e^-8 ≈ 3e-4, i.e. the kernel expresses "self-ratings are uncertain by about one level"
 *    (the common test-retest spread of SAM ratings) and nothing more; the true class keeps ~79 %
 *    of the kernel mass in the interior and ~88 % at the ends, so it stays the clear mode.
 *    sigma = 0.6 would already give each neighbour a quarter of the true level's weight.
 *  - eps = 0.1: the usual label-smoothing amount, keeping every class's target above 0 so the
 *    logits stay bounded.
 *  - K = 2: two classes have no "neighbour" distinct from "the other class", so the Gaussian is
 *    dropped (g = one-hot) and this is ordinary label smoothing with eps.
 */

export const DEFAULT_ORDINAL_SIGMA = 0.5;
export const DEFAULT_LABEL_EPSILON = 0.1;

export interface OrdinalSmoothing {
  /** Width of the Gaussian over class indices (default 0.5; 0: one-hot). Ignored for K = 2. */
  readonly sigma?: number;
  /** Uniform mixing weight in [0, 1) (default 0.1). */
  readonly epsilon?: number;
}

/** Soft target (K values summing to 1) for true class index y of K ordered classes. */
export function ordinalTarget(y: number, K: number, opts: OrdinalSmoothing = {}): Float64Array {
  if (!Number.isInteger(K) || K < 2) throw new Error(`ordinal: need at least 2 classes, got ${K}`);
  if (!Number.isInteger(y) || y < 0 || y >= K) throw new Error(`ordinal: class index ${y} is outside 0..${K - 1}`);
  const sigma = opts.sigma ?? DEFAULT_ORDINAL_SIGMA;
  const eps = opts.epsilon ?? DEFAULT_LABEL_EPSILON;
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new Error(`ordinal: sigma must be >= 0, got ${sigma}`);
  if (!(eps >= 0 && eps < 1)) throw new Error(`ordinal: epsilon must be in [0, 1), got ${eps}`);
  const g = new Float64Array(K);
  if (K === 2 || sigma === 0) g[y] = 1;
  else {
    let sum = 0;
    for (let j = 0; j < K; j++) sum += g[j] = Math.exp(-((j - y) ** 2) / (2 * sigma * sigma));
    for (let j = 0; j < K; j++) g[j] /= sum;
  }
  for (let j = 0; j < K; j++) g[j] = (1 - eps) * g[j] + eps / K;
  return g;
}

/** Soft targets of several labels, n x K row-major. */
export function ordinalTargets(labels: readonly number[], K: number, opts: OrdinalSmoothing = {}): Float32Array {
  const out = new Float32Array(labels.length * K);
  const cache = new Map<number, Float64Array>();
  labels.forEach((y, i) => {
    let t = cache.get(y);
    if (!t) cache.set(y, (t = ordinalTarget(y, K, opts)));
    out.set(t, i * K);
  });
  return out;
}

/**
 * Expected class index of a probability vector mapped linearly to [-1, 1] (lowest class -1,
 * highest +1): a continuous valence/arousal score.
 */
export function expectedScore(probs: ArrayLike<number>): number {
  const K = probs.length;
  if (K < 2) throw new Error(`ordinal: need at least 2 class probabilities, got ${K}`);
  let total = 0;
  let e = 0;
  for (let j = 0; j < K; j++) {
    total += probs[j];
    e += j * probs[j];
  }
  if (!(total > 0)) throw new Error('ordinal: probabilities sum to 0');
  return -1 + (2 * (e / total)) / (K - 1);
}

/** expectedScore of each row of an n x K row-major probability matrix. */
export function expectedScores(probs: ArrayLike<number>, K: number): Float64Array {
  const n = Math.floor(probs.length / K);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = expectedScore(Array.prototype.slice.call(probs, i * K, (i + 1) * K) as number[]);
  return out;
}
