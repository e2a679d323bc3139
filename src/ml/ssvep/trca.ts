import { inverseCholeskyFactor } from '../linalg/cholesky.js';
import { SymmetricEigen } from '../linalg/symmetric-eigen.js';

/** A calibration trial: `samples` x `channels` values, sample-major. */
export interface TrcaTrial {
  readonly data: ArrayLike<number>;
  readonly samples: number;
}

export interface TrcaState {
  readonly classes: string[];
  readonly channels: number;
  readonly samples: number;
  /** Ensemble TRCA (every class's filter applied to every class) or each class its own filter. */
  readonly ensemble: boolean;
  /** One spatial filter per class, channels values each (row k: class k's filter). */
  readonly filters: number[][];
  /** Per class: its mean trial seen through the filters it is scored with, centred and of unit norm (samples x filters, sample-major). */
  readonly templates: number[][];
}

/**
 * Task-related component analysis (Nakanishi et al. 2018): per class, the spatial filter w that
 * maximises the covariance between trials relative to their variance, w'Sw / w'Qw with
 * S = Σ_{i≠j} X_i^T X_j and Q = Σ X_i^T X_i (channel-centred trials), the top generalised
 * eigenvector, found by Cholesky whitening of Q and a symmetric eigendecomposition. A window is
 * scored against each class by the Pearson correlation of its filtered signal with the filtered
 * class template (the mean calibration trial). Windows must be locked to stimulus onset as the
 * calibration trials were: TRCA matches phase, unlike CCA.
 */
export class Trca {
  private readonly flatTemplates: Float64Array[];
  private readonly projected: Float64Array;
  private readonly mean: Float64Array;

  constructor(readonly state: TrcaState) {
    this.flatTemplates = state.templates.map((t) => Float64Array.from(t));
    this.projected = new Float64Array(state.samples * (state.ensemble ? state.classes.length : 1));
    this.mean = new Float64Array(state.channels);
  }

  static fit(trials: readonly TrcaTrial[], labels: readonly string[], channels: number, opts: { ensemble: boolean }): Trca {
    if (trials.length !== labels.length) throw new Error(`TRCA: ${trials.length} trials but ${labels.length} labels`);
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw new Error(`TRCA: two classes or more are needed, got ${classes.length}`);
    const samples = trials[0].samples;
    if (trials.some((t) => t.samples !== samples)) throw new Error('TRCA: trials must all have the same length');
    const filters: number[][] = [];
    const means: Float64Array[] = [];
    for (const cls of classes) {
      const mine = trials.filter((_, i) => labels[i] === cls).map((t) => centred(t, channels));
      if (mine.length < 2) throw new Error(`TRCA: class "${cls}" has ${mine.length} trial(s), at least 2 are needed`);
      const sum = new Float64Array(samples * channels);
      const q = new Float64Array(channels * channels);
      for (const x of mine) {
        for (let i = 0; i < sum.length; i++) sum[i] += x[i];
        addScatter(x, samples, channels, q);
      }
      const s = new Float64Array(channels * channels);
      addScatter(sum, samples, channels, s);
      for (let i = 0; i < s.length; i++) s[i] -= q[i];
      filters.push(topGeneralisedEigenvector(s, q, channels, cls));
      means.push(sum.map((v) => v / mine.length));
    }
    const templates = classes.map((_, k) => {
      const used = opts.ensemble ? filters : [filters[k]];
      return Array.from(normalised(project(means[k], samples, channels, used, new Float64Array(samples * used.length))));
    });
    return new Trca({ classes, channels, samples, ensemble: opts.ensemble, filters, templates });
  }

  /** The correlation of a window (sample-major, `stride` values per sample, channels from `offset`) with every class, into `out`. */
  correlations(data: ArrayLike<number>, stride: number, offset: number, out: Float64Array): Float64Array {
    const { samples, channels, filters, ensemble } = this.state;
    const mean = this.mean.fill(0);
    for (let s = 0; s < samples; s++) for (let c = 0; c < channels; c++) mean[c] += data[s * stride + offset + c];
    for (let c = 0; c < channels; c++) mean[c] /= samples;
    const y = this.projected;
    for (let k = 0; k < this.state.classes.length; k++) {
      const used = ensemble ? filters : [filters[k]];
      if (k === 0 || !ensemble) {
        const m = used.length;
        for (let s = 0; s < samples; s++) {
          const o = s * stride + offset;
          for (let f = 0; f < m; f++) {
            const w = used[f];
            let v = 0;
            for (let c = 0; c < channels; c++) v += w[c] * (data[o + c] - mean[c]);
            y[s * m + f] = v;
          }
        }
        normalised(y);
      }
      const t = this.flatTemplates[k];
      let r = 0;
      for (let i = 0; i < t.length; i++) r += t[i] * y[i];
      out[k] = r;
    }
    return out;
  }
}

/** A trial with each channel's mean removed, as Float64Array (sample-major). */
function centred(t: TrcaTrial, channels: number): Float64Array {
  const x = Float64Array.from(t.data).subarray(0, t.samples * channels);
  for (let c = 0; c < channels; c++) {
    let m = 0;
    for (let s = 0; s < t.samples; s++) m += x[s * channels + c];
    m /= t.samples;
    for (let s = 0; s < t.samples; s++) x[s * channels + c] -= m;
  }
  return x;
}

/** acc += X^T X for a sample-major samples x channels X. */
function addScatter(x: Float64Array, samples: number, channels: number, acc: Float64Array): void {
  for (let s = 0; s < samples; s++) {
    const o = s * channels;
    for (let i = 0; i < channels; i++) for (let j = 0; j < channels; j++) acc[i * channels + j] += x[o + i] * x[o + j];
  }
}

/** The w maximising w'Sw / w'Qw: with Q = L L^T, w = L^-T v for the top eigenvector v of L^-1 S L^-T. */
function topGeneralisedEigenvector(s: Float64Array, q: Float64Array, n: number, cls: string): number[] {
  let li: Float64Array;
  try {
    li = inverseCholeskyFactor(q, n);
  } catch {
    throw new Error(`TRCA: class "${cls}": the trials' covariance is singular (flat or duplicated channels?)`);
  }
  const a = new Float64Array(n * n);
  const tmp = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k <= i; k++) tmp[i * n + j] += li[i * n + k] * s[k * n + j];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k <= j; k++) a[i * n + j] += tmp[i * n + k] * li[j * n + k];
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = (a[i * n + j] + a[j * n + i]) / 2;
  const eig = new SymmetricEigen(n).decompose(a);
  const v = eig.vectors.subarray((n - 1) * n, n * n);
  const w = new Array<number>(n).fill(0);
  for (let c = 0; c < n; c++) for (let k = c; k < n; k++) w[c] += li[k * n + c] * v[k];
  return w;
}

/** X W for the filters `used` (sample-major samples x filters), into `out`. */
function project(x: Float64Array, samples: number, channels: number, used: readonly number[][], out: Float64Array): Float64Array {
  const m = used.length;
  for (let s = 0; s < samples; s++) {
    for (let f = 0; f < m; f++) {
      let v = 0;
      for (let c = 0; c < channels; c++) v += used[f][c] * x[s * channels + c];
      out[s * m + f] = v;
    }
  }
  return out;
}

/** Centres a vector and scales it to unit norm in place (a zero vector stays zero): Pearson correlation becomes a dot product. */
function normalised(v: Float64Array): Float64Array {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let ss = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] -= m;
    ss += v[i] * v[i];
  }
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}
