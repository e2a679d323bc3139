import { SpdOps } from '../linalg/spd-ops.js';

export interface MeanOptions {
  /** Stop when the Frobenius norm of the mean tangent step falls below this (default 1e-7). */
  tolerance?: number;
  /** Iteration cap (default 50). */
  maxIterations?: number;
  /** Optional non-negative weight per matrix (default: equal). */
  weights?: readonly number[];
}

/**
 * Affine-invariant Riemannian (Karcher) mean of SPD matrices by gradient descent on the manifold:
 * start from the arithmetic mean M, then repeatedly step M <- M^1/2 exp(ν·J) M^1/2 along the
 * mean tangent vector J = Σ w_i log(M^-1/2 C_i M^-1/2), shrinking the step ν when the step norm
 * grows (the scheme pyRiemann's mean_riemann uses).
 */
export function riemannMean(covs: readonly Float64Array[], n: number, opts: MeanOptions = {}, ops = new SpdOps(n)): Float64Array {
  if (covs.length === 0) throw new Error('Riemannian mean of no matrices');
  const tol = opts.tolerance ?? 1e-7;
  const maxIterations = opts.maxIterations ?? 50;
  const w = normalisedWeights(covs.length, opts.weights);
  const m = euclideanMean(covs, n, opts.weights);
  if (covs.length === 1) return m;
  const half = new Float64Array(n * n);
  const invHalf = new Float64Array(n * n);
  const j = new Float64Array(n * n);
  const whitened = new Float64Array(n * n);
  const logW = new Float64Array(n * n);
  let nu = 1;
  let tau = Infinity;
  for (let it = 0; it < maxIterations; it++) {
    ops.sqrt(m, half);
    ops.invSqrt(m, invHalf);
    j.fill(0);
    covs.forEach((c, i) => {
      ops.congruence(invHalf, c, whitened);
      ops.log(whitened, logW);
      for (let k = 0; k < n * n; k++) j[k] += w[i] * logW[k];
    });
    let crit = 0;
    for (let k = 0; k < n * n; k++) crit += j[k] * j[k];
    crit = Math.sqrt(crit);
    const h = nu * crit;
    for (let k = 0; k < n * n; k++) j[k] *= nu;
    ops.exp(j, logW);
    ops.congruence(half, logW, m);
    if (h < tau) {
      nu *= 0.95;
      tau = h;
    } else {
      nu *= 0.5;
    }
    if (crit <= tol || nu <= tol) break;
  }
  return m;
}

/** Arithmetic (Euclidean) mean Σ w_i C_i: the Riemannian mean's starting point, and a cheap tangent point. */
export function euclideanMean(covs: readonly Float64Array[], n: number, weights?: readonly number[]): Float64Array {
  if (covs.length === 0) throw new Error('mean of no matrices');
  const w = normalisedWeights(covs.length, weights);
  const m = new Float64Array(n * n);
  covs.forEach((c, i) => {
    for (let k = 0; k < n * n; k++) m[k] += w[i] * c[k];
  });
  return m;
}

/** Log-Euclidean mean exp(Σ w_i log C_i): closed form, one decomposition per matrix. */
export function logEuclideanMean(covs: readonly Float64Array[], n: number, weights?: readonly number[], ops = new SpdOps(n)): Float64Array {
  if (covs.length === 0) throw new Error('log-Euclidean mean of no matrices');
  const w = normalisedWeights(covs.length, weights);
  const acc = new Float64Array(n * n);
  const log = new Float64Array(n * n);
  covs.forEach((c, i) => {
    ops.log(c, log);
    for (let k = 0; k < n * n; k++) acc[k] += w[i] * log[k];
  });
  return ops.exp(acc, new Float64Array(n * n));
}

function normalisedWeights(count: number, weights: readonly number[] | undefined): Float64Array {
  const w = new Float64Array(count).fill(1 / count);
  if (!weights) return w;
  if (weights.length !== count) throw new Error(`mean: ${weights.length} weights for ${count} matrices`);
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0) || weights.some((x) => !(x >= 0))) throw new Error('mean: weights must be non-negative with a positive sum');
  weights.forEach((x, i) => (w[i] = x / total));
  return w;
}
