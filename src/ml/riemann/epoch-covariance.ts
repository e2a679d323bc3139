import type { SignalBlock } from '../csp.js';
import { ledoitWolfIntensity } from '../covariance.js';
import { addGram, toChannelMajor } from '../linalg/row-dot.js';

/** How a trial's spatial covariance is estimated (pyRiemann's Covariances estimators). */
export type CovarianceEstimator = 'scm' | 'lwf' | 'oas';

export const COVARIANCE_ESTIMATORS: readonly CovarianceEstimator[] = ['scm', 'lwf', 'oas'];

/**
 * Spatial covariance of one block of interleaved samples, channel means removed:
 * - "scm": the sample covariance, divided by n - 1;
 * - "lwf": Ledoit-Wolf shrinkage towards (trace/p)·I with the analytic optimal intensity;
 * - "oas": Oracle Approximating Shrinkage (Chen et al. 2010), as scikit-learn computes it.
 * The shrunk estimators start from the biased (1/n) covariance, as scikit-learn does. Writes the
 * p x p result (row-major) into `out`. `scratch` (reused by a decoder that computes one covariance
 * per window: the centred copy of a 64-channel, 2 s window is 160 kB) is grown as needed.
 */
export function epochCovariance(
  block: SignalBlock,
  channels: number,
  estimator: CovarianceEstimator,
  out: Float64Array = new Float64Array(channels * channels),
  scratch: CovarianceScratch = new CovarianceScratch(),
): Float64Array {
  const { data, samples: n } = block;
  const p = channels;
  if (n < 2) throw new Error(`covariance needs at least 2 samples, got ${n}`);
  if (data.length < n * p) throw new Error(`covariance: block holds ${data.length} values, expected ${n} x ${p}`);
  const mean = scratch.buffer('mean', p);
  for (let s = 0; s < n; s++) for (let c = 0; c < p; c++) mean[c] += data[s * p + c];
  for (let c = 0; c < p; c++) mean[c] /= n;
  const x = toChannelMajor(data, n, p, scratch.buffer('x', n * p), mean);
  out.fill(0, 0, p * p);
  addGram(x, p, n, out);
  // Σ_s ‖x_s‖⁴ over the centred samples, for the Ledoit-Wolf beta term.
  let rowNorm4 = 0;
  if (estimator === 'lwf') {
    for (let s = 0; s < n; s++) {
      let norm2 = 0;
      for (let c = 0; c < p; c++) norm2 += x[c * n + s] * x[c * n + s];
      rowNorm4 += norm2 * norm2;
    }
  }
  if (estimator === 'scm') {
    for (let i = 0; i < p * p; i++) out[i] /= n - 1;
    return out;
  }
  for (let i = 0; i < p * p; i++) out[i] /= n;
  let trace = 0;
  for (let i = 0; i < p; i++) trace += out[i * p + i];
  const mu = trace / p;
  let shrinkage: number;
  if (estimator === 'lwf') {
    shrinkage = ledoitWolfIntensity(out, p, n, rowNorm4);
  } else if (estimator === 'oas') {
    let sumSq = 0;
    for (let i = 0; i < p * p; i++) sumSq += out[i] * out[i];
    const alpha = sumSq / (p * p);
    const num = alpha + mu * mu;
    const den = (n + 1) * (alpha - (mu * mu) / p);
    shrinkage = den === 0 ? 1 : Math.min(num / den, 1);
  } else {
    throw new Error(`covariance estimator must be one of ${COVARIANCE_ESTIMATORS.join(', ')}, got ${String(estimator)}`);
  }
  for (let i = 0; i < p * p; i++) out[i] *= 1 - shrinkage;
  for (let i = 0; i < p; i++) out[i * p + i] += shrinkage * mu;
  return out;
}

/** Work buffers of epochCovariance, kept between calls. */
export class CovarianceScratch {
  private readonly buffers = new Map<string, Float64Array>();

  /** A zeroed buffer of `length` values (the same memory as last time when it is large enough). */
  buffer(name: string, length: number): Float64Array {
    let b = this.buffers.get(name);
    if (!b || b.length < length) this.buffers.set(name, (b = new Float64Array(length)));
    const view = b.length === length ? b : b.subarray(0, length);
    view.fill(0);
    return view;
  }
}
