import { Matrix } from 'ml-matrix';
import { addGram, toChannelMajor } from './linalg/row-dot.js';

/**
 * Covariance estimators on row-per-observation data. They back CSP (channels as variables,
 * samples as observations) and LDA (features as variables, trials as observations).
 */

/**
 * Covariance of interleaved blocks concatenated along time, as MNE's CSP computes a class
 * covariance: not centred (band-passed EEG has zero mean) and divided by n - 1.
 */
export function concatenatedCovariance(blocks: readonly { data: Float32Array; samples: number }[], channels: number): Matrix {
  const acc = new Float64Array(channels * channels);
  let n = 0;
  let x = new Float64Array(0);
  for (const b of blocks) {
    if (x.length < b.samples * channels) x = new Float64Array(b.samples * channels);
    addGram(toChannelMajor(b.data, b.samples, channels, x), channels, b.samples, acc);
    n += b.samples;
  }
  if (n < 2) throw new Error(`covariance needs at least 2 samples, got ${n}`);
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
  const emp = Float64Array.from(x.transpose().mmul(x).div(n).to1DArray());
  let norm4 = 0;
  for (let i = 0; i < n; i++) {
    let norm2 = 0;
    for (let j = 0; j < p; j++) norm2 += x.get(i, j) ** 2;
    norm4 += norm2 * norm2;
  }
  return ledoitWolfIntensity(emp, p, n, norm4);
}

/**
 * Ledoit-Wolf intensity with the samples of all blocks as (centred) observations, computed from
 * the blocks directly: S = Σ x x^T / n and Σ ‖x‖⁴ are all the estimate needs.
 */
export function ledoitWolfOfBlocks(blocks: readonly { data: Float32Array; samples: number }[], p: number): number {
  const s = new Float64Array(p * p);
  let n = 0;
  let norm4 = 0;
  let x = new Float64Array(0);
  for (const b of blocks) {
    if (x.length < b.samples * p) x = new Float64Array(b.samples * p);
    addGram(toChannelMajor(b.data, b.samples, p, x), p, b.samples, s);
    for (let t = 0; t < b.samples; t++) {
      let norm2 = 0;
      for (let c = 0; c < p; c++) norm2 += b.data[t * p + c] ** 2;
      norm4 += norm2 * norm2;
    }
    n += b.samples;
  }
  if (n === 0) throw new Error('Ledoit-Wolf shrinkage of no observations');
  for (let i = 0; i < p * p; i++) s[i] /= n;
  return ledoitWolfIntensity(s, p, n, norm4);
}

/**
 * The Ledoit-Wolf intensity from the biased covariance S (flat p x p, sums divided by n) of n
 * centred observations and Σ‖x‖⁴ over them: min(β, δ)/δ with δ = ‖S − μI‖²/p and
 * β = (Σ‖x‖⁴/n − ‖S‖²)/(p·n), as scikit-learn computes it.
 */
export function ledoitWolfIntensity(s: Float64Array, p: number, n: number, norm4: number): number {
  let trace = 0;
  let sumSq = 0;
  for (let i = 0; i < p * p; i++) sumSq += s[i] * s[i];
  for (let i = 0; i < p; i++) trace += s[i * p + i];
  const mu = trace / p;
  const delta = (sumSq - p * mu * mu) / p;
  const beta = Math.min((norm4 / n - sumSq) / (p * n), delta);
  return beta === 0 ? 0 : beta / delta;
}
