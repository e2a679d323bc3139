import { EigenvalueDecomposition, Matrix, inverse } from 'ml-matrix';
import { inverseCholeskyFactor } from './linalg/cholesky.js';
import { concatenatedCovariance, ledoitWolfOfBlocks, shrink } from './covariance.js';

/** A block of interleaved multichannel samples (an epoch or a window). */
export interface SignalBlock {
  readonly data: Float32Array;
  readonly samples: number;
}

export interface CspOptions {
  /** Number of spatial filters kept (taken alternately from both ends of the spectrum). */
  components: number;
  /**
   * Covariance regularisation: 0 or undefined for none, a number in (0, 1] for shrinkage towards
   * a scaled identity, or "ledoit-wolf" for the analytic optimal shrinkage.
   */
  regularization?: number | 'ledoit-wolf';
}

export interface CspState {
  readonly classes: readonly [string, string];
  /** components x channels, row-major: the spatial filters. */
  readonly filters: number[][];
  /** channels x components: the activation patterns (for topographic display). */
  readonly patterns: number[][];
  /** Generalised eigenvalues of the kept filters (variance share of the first class). */
  readonly eigenvalues: number[];
}

/**
 * Two-class common spatial patterns (Koles 1990; Ramoser et al. 2000): filters w that extremise
 * w'C1w / w'(C1+C2)w, from the generalised eigenproblem C1 w = lambda (C1 + C2) w solved by
 * Cholesky whitening and a symmetric eigendecomposition (ml-matrix). Filters are ordered as MNE
 * orders them: by |lambda - 0.5|, most discriminative first.
 */
export class Csp {
  constructor(readonly state: CspState) {}

  static fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, opts: CspOptions): Csp {
    if (blocks.length !== labels.length) throw new Error(`CSP: ${blocks.length} epochs but ${labels.length} labels`);
    const classes = [...new Set(labels)].sort();
    if (classes.length !== 2) {
      throw new Error(`CSP: two classes needed, got ${classes.length} (${classes.join(', ')})`);
    }
    if (!Number.isInteger(opts.components) || opts.components < 1 || opts.components > channels) {
      throw new Error(`CSP: components must be an integer in 1..${channels}, got ${opts.components}`);
    }
    const covs = classes.map((cls) => {
      const mine = blocks.filter((_, i) => labels[i] === cls);
      return regularize(concatenatedCovariance(mine, channels), mine, channels, opts.regularization);
    });
    const composite = covs[0].clone().add(covs[1]);
    let lowerInv: Matrix;
    try {
      lowerInv = Matrix.from1DArray(channels, channels, inverseCholeskyFactor(composite.to1DArray(), channels));
    } catch {
      throw new Error('CSP: the summed class covariance is singular (rank-deficient data: too few samples, flat or duplicated channels); set csp regularization');
    }
    const whitened = lowerInv.mmul(covs[0]).mmul(lowerInv.transpose());
    const sym = whitened.clone().add(whitened.transpose()).div(2);
    const eig = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
    const values = eig.realEigenvalues;
    const order = values
      .map((v, i) => [Math.abs(v - 0.5), i] as const)
      .sort((a, b) => b[0] - a[0])
      .map(([, i]) => i);
    // Filters are the columns of L^-T V, i.e. the rows of V^T L^-1.
    const all = eig.eigenvectorMatrix.transpose().mmul(lowerInv);
    const kept = order.slice(0, opts.components);
    const filters = kept.map((i) => all.getRow(i));
    const patternsAll = inverse(all);
    const patterns = Array.from({ length: channels }, (_, c) => kept.map((i) => patternsAll.get(c, i)));
    return new Csp({ classes: [classes[0], classes[1]], filters, patterns, eigenvalues: kept.map((i) => values[i]) });
  }

  get components(): number {
    return this.state.filters.length;
  }

  /**
   * Log of the mean power of each spatially filtered component over a block: the classic CSP
   * feature vector. Writes into `out` (length `components`) when given.
   */
  logPower(block: SignalBlock, channels: number, out: Float64Array = new Float64Array(this.components)): Float64Array {
    const k = this.components;
    const w = this.flat ?? (this.flat = Float64Array.from(this.state.filters.flat()));
    const { data, samples } = block;
    // Four filters per pass over a sample: one read of each value feeds four projections.
    let j = 0;
    for (; j + 4 <= k; j += 4) {
      const r0 = j * channels;
      const r1 = r0 + channels;
      const r2 = r1 + channels;
      const r3 = r2 + channels;
      let p0 = 0;
      let p1 = 0;
      let p2 = 0;
      let p3 = 0;
      for (let s = 0; s < samples; s++) {
        const o = s * channels;
        let y0 = 0;
        let y1 = 0;
        let y2 = 0;
        let y3 = 0;
        for (let c = 0; c < channels; c++) {
          const v = data[o + c];
          y0 += w[r0 + c] * v;
          y1 += w[r1 + c] * v;
          y2 += w[r2 + c] * v;
          y3 += w[r3 + c] * v;
        }
        p0 += y0 * y0;
        p1 += y1 * y1;
        p2 += y2 * y2;
        p3 += y3 * y3;
      }
      out[j] = p0;
      out[j + 1] = p1;
      out[j + 2] = p2;
      out[j + 3] = p3;
    }
    for (; j < k; j++) {
      const row = j * channels;
      let power = 0;
      for (let s = 0; s < samples; s++) {
        const o = s * channels;
        let y = 0;
        for (let c = 0; c < channels; c++) y += w[row + c] * data[o + c];
        power += y * y;
      }
      out[j] = power;
    }
    for (let j = 0; j < k; j++) out[j] = Math.log(out[j] / samples);
    return out;
  }

  private flat: Float64Array | undefined;
}

function regularize(cov: Matrix, blocks: readonly SignalBlock[], channels: number, reg: CspOptions['regularization']): Matrix {
  if (reg === undefined || reg === 0) return cov;
  if (reg === 'ledoit-wolf') return shrink(cov, ledoitWolfOfBlocks(blocks, channels));
  return shrink(cov, reg);
}

/** Solves L X = B for lower-triangular L by forward substitution. */
