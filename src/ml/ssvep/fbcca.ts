import { CcaScorer, type CcaOptions } from './cca.js';

/** Weight of sub-band n (1-based) in filter-bank CCA: n^-a + b (Chen et al. 2015: a = 1.25, b = 0.25). */
export function subBandWeights(bands: number, a: number, b: number): Float64Array {
  if (!Number.isInteger(bands) || bands < 1) throw new Error(`FBCCA: sub-bands must be a positive integer, got ${bands}`);
  return Float64Array.from({ length: bands }, (_, i) => (i + 1) ** -a + b);
}

/**
 * Filter-bank CCA (Chen et al. 2015): CCA in each sub-band of a filter bank (the window holds the
 * bands as channel blocks, band-major, as the filter-bank operator emits them), combined per
 * target as Σ_n w_n ρ_n², which lets the higher harmonics that the upper sub-bands isolate vote.
 */
export class FbccaScorer {
  private readonly cca: CcaScorer;
  private readonly perBand: Float64Array;

  constructor(
    opts: CcaOptions,
    readonly weights: Float64Array,
  ) {
    this.cca = new CcaScorer(opts);
    this.perBand = new Float64Array(opts.frequencies.length);
  }

  get targets(): number {
    return this.cca.targets;
  }

  /** Σ_n w_n ρ_{n,k}² for every target k, into `out`; `channels` is the count per band. */
  scores(data: ArrayLike<number>, channels: number, out: Float64Array): Float64Array {
    const bands = this.weights.length;
    const stride = channels * bands;
    out.fill(0);
    for (let b = 0; b < bands; b++) {
      this.cca.correlations(data, stride, b * channels, channels, this.perBand);
      for (let k = 0; k < out.length; k++) out[k] += this.weights[b] * this.perBand[k] ** 2;
    }
    return out;
  }
}
