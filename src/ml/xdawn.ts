import type { SignalBlock } from './csp.js';
import { inverseCholeskyFactor } from './linalg/cholesky.js';
import { SpdOps } from './linalg/spd-ops.js';
import { SymmetricEigen } from './linalg/symmetric-eigen.js';

export interface XdawnOptions {
  /** Spatial filters kept per class (at most the channel count). */
  readonly components: number;
  /** The classes whose evoked responses get filters, in this order (default: every class, sorted). */
  readonly classes?: readonly string[];
}

export interface XdawnState {
  readonly channels: number;
  readonly samples: number;
  readonly classes: readonly string[];
  readonly components: number;
  /** Per class, `components x channels` row-major: the spatial filters, most evoked-to-signal first. */
  readonly filters: readonly number[][];
  /** Per class, `samples x channels` sample-major: the class mean (the evoked prototype). */
  readonly evoked: readonly number[][];
}

/**
 * xDAWN spatial filters (Rivet et al. 2009), as MNE's Xdawn without overlap correction: for each
 * class, the filters w that maximise the power of the class's mean epoch E relative to the power
 * of all epochs, from the generalised eigenproblem (E E^T) w = λ (X X^T) w with X every epoch
 * side by side. Both covariances are uncentred (as MNE's empirical estimate with assume_centered;
 * epochs are baseline-corrected anyway), solved by Cholesky whitening of X X^T and a symmetric
 * eigendecomposition; filters have unit Euclidean norm, ordered by descending λ. A filter's sign is
 * arbitrary; every decoder built on them (LDA, tangent space + logistic regression) is blind to it.
 */
export class Xdawn {
  private readonly flat: Float64Array;
  private readonly rows: number;

  constructor(readonly state: XdawnState) {
    this.flat = Float64Array.from(state.filters.flat());
    this.rows = state.classes.length * state.components;
  }

  static fit(epochs: readonly SignalBlock[], labels: readonly string[], channels: number, opts: XdawnOptions): Xdawn {
    if (epochs.length !== labels.length) throw new Error(`xDAWN: ${epochs.length} epochs but ${labels.length} labels`);
    if (epochs.length === 0) throw new Error('xDAWN: no training epochs');
    const c = channels;
    const t = epochs[0].samples;
    if (epochs.some((e) => e.samples !== t)) throw new Error('xDAWN: epochs differ in length');
    if (!Number.isInteger(opts.components) || opts.components < 1 || opts.components > c) {
      throw new Error(`xDAWN: components must be an integer in 1..${c}, got ${opts.components}`);
    }
    const classes = opts.classes ?? [...new Set(labels)].sort();
    const signal = new Float64Array(c * c);
    for (const e of epochs) addGram(e.data, t, c, signal);
    scale(signal, 1 / (epochs.length * t - 1));
    let whitener: Float64Array;
    try {
      whitener = inverseCholeskyFactor(signal, c);
    } catch {
      throw new Error('xDAWN: the signal covariance is singular (flat or duplicated channels)');
    }
    const ops = new SpdOps(c);
    const eig = new SymmetricEigen(c);
    const whitened = new Float64Array(c * c);
    const filters: number[][] = [];
    const evoked: number[][] = [];
    for (const cls of classes) {
      const mine = epochs.filter((_, i) => labels[i] === cls);
      if (mine.length === 0) throw new Error(`xDAWN: no epochs of class "${cls}"`);
      const mean = new Float64Array(t * c);
      for (const e of mine) for (let i = 0; i < t * c; i++) mean[i] += e.data[i] / mine.length;
      const evoCov = new Float64Array(c * c);
      addGram(mean, t, c, evoCov);
      scale(evoCov, 1 / (t - 1));
      // L^-1 A L^-T u = λ u  <=>  A w = λ B w with w = L^-T u.
      ops.lowerCongruence(whitener, evoCov, whitened);
      eig.decompose(whitened);
      const f: number[] = [];
      for (let k = 0; k < opts.components; k++) {
        const u = c - 1 - k; // eigenvalues ascend: the largest last
        const w = new Array<number>(c).fill(0);
        for (let i = 0; i < c; i++) for (let j = i; j < c; j++) w[i] += whitener[j * c + i] * eig.vectors[u * c + j];
        const norm = Math.hypot(...w);
        f.push(...w.map((v) => v / norm));
      }
      filters.push(f);
      evoked.push(Array.from(mean));
    }
    return new Xdawn({ channels: c, samples: t, classes, components: opts.components, filters, evoked });
  }

  /** Filter outputs of every class's filters, `samples x (classes * components)` sample-major, written into `out`. */
  apply(block: { readonly data: ArrayLike<number>; readonly samples: number }, out: Float64Array = new Float64Array(block.samples * this.rows)): Float64Array {
    const { rows, flat } = this;
    const c = this.state.channels;
    const { data, samples } = block;
    for (let s = 0; s < samples; s++) {
      for (let r = 0; r < rows; r++) {
        let v = 0;
        for (let j = 0; j < c; j++) v += flat[r * c + j] * data[s * c + j];
        out[s * rows + r] = v;
      }
    }
    return out;
  }

  /** Number of filter outputs (classes x components). */
  get outputs(): number {
    return this.rows;
  }

  /** The evoked prototypes through every filter: `samples x outputs` per class, sample-major (pyRiemann's XdawnCovariances prototypes). */
  prototypes(): Float64Array[] {
    return this.state.evoked.map((e) => this.apply({ data: e, samples: this.state.samples }));
  }
}

/** acc += X^T X for `samples x channels` sample-major X (uncentred). */
function addGram(x: ArrayLike<number>, samples: number, channels: number, acc: Float64Array): void {
  for (let s = 0; s < samples; s++) {
    const o = s * channels;
    for (let i = 0; i < channels; i++) {
      const xi = x[o + i];
      for (let j = i; j < channels; j++) acc[i * channels + j] += xi * x[o + j];
    }
  }
  for (let i = 0; i < channels; i++) for (let j = 0; j < i; j++) acc[i * channels + j] = acc[j * channels + i];
}

function scale(a: Float64Array, k: number): void {
  for (let i = 0; i < a.length; i++) a[i] *= k;
}
