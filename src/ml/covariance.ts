import { Matrix } from 'ml-matrix';

/**
 * Covariance estimators on row-per-observation data. They back CSP (channels as variables,
 * samples as observations) and LDA (features as variables, trials as observations).
 */

/** Mirrors the upper triangle of a row-major p x p array onto the lower one. */
function symmetrize(acc: Float64Array, p: number): void {
  for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) acc[i * p + j] = acc[j * p + i];
}

/**
 * Covariance of interleaved blocks concatenated along time, as MNE's CSP computes a class
 * covariance: not centred (band-passed EEG has zero mean) and divided by n - 1.
 */
export function concatenatedCovariance(blocks: readonly { data: Float32Array; samples: number }[], channels: number): Matrix {
  const acc = new Float64Array(channels * channels);
  let n = 0;
  for (const b of blocks) {
    const { data } = b;
    for (let s = 0; s < b.samples; s++) {
      const o = s * channels;
      for (let i = 0; i < channels; i++) {
        const xi = data[o + i];
        const row = i * channels;
        for (let j = i; j < channels; j++) acc[row + j] += xi * data[o + j];
      }
    }
    n += b.samples;
  }
  if (n < 2) throw new Error(`covariance needs at least 2 samples, got ${n}`);
  symmetrize(acc, channels);
  const cov = new Matrix(channels, channels);
  for (let i = 0; i < channels; i++) for (let j = 0; j < channels; j++) cov.set(i, j, acc[i * channels + j] / (n - 1));
  return cov;
}

/** (1 - alpha) * C + alpha * (trace(C) / p) * I: shrinkage towards a scaled identity. */
export function shrink(cov: Matrix, alpha: number): Matrix {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`shrinkage must be in [0, 1], got ${alpha}`);
  const p = cov.rows;
  const mu = cov.trace() / p;
  const out = cov.clone().mul(1 - alpha);
  for (let i = 0; i < p; i++) out.set(i, i, out.get(i, i) + alpha * mu);
  return out;
}

/**
 * Ledoit-Wolf optimal shrinkage intensity for centred observations `x` (n x p): the analytic
 * estimate of Ledoit & Wolf (2004), as scikit-learn computes it.
 */
export function ledoitWolfShrinkage(x: Matrix): number {
  const n = x.rows;
  const p = x.columns;
  if (n === 0) throw new Error('Ledoit-Wolf shrinkage of no observations');
  const emp = x.transpose().mmul(x).div(n);
  const mu = emp.trace() / p;
  const x2 = x.clone().apply(function (this: Matrix, i: number, j: number) {
    const v = this.get(i, j);
    this.set(i, j, v * v);
  });
  const beta0 = x2.transpose().mmul(x2).sum();
  let deltaRaw = 0;
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) deltaRaw += (emp.get(i, j) * n) ** 2;
  deltaRaw /= n * n;
  let beta = (1 / (p * n)) * (beta0 / n - deltaRaw);
  let delta = deltaRaw - 2 * mu * emp.trace() + p * mu * mu;
  delta /= p;
  beta = Math.min(beta, delta);
  return beta === 0 ? 0 : beta / delta;
}
