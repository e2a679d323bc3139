import { SpdOps } from '../linalg/spd-ops.js';
import { riemannMean } from './riemann-mean.js';

/**
 * Affine re-centering (Zanini et al. 2018): whitening every covariance of a session by that
 * session's own Riemannian mean M, C -> M^-1/2 C M^-1/2, moves the session's centre to the
 * identity. Sessions and subjects then share a reference point, with no labels needed: the mean
 * can come from any of the new session's data, resting data included.
 */
export class Recenter {
  private readonly ops: SpdOps;
  readonly whitener: Float64Array;

  constructor(
    readonly n: number,
    readonly mean: Float64Array,
  ) {
    this.ops = new SpdOps(n);
    this.whitener = this.ops.invSqrt(mean, new Float64Array(n * n));
  }

  /** Re-centering on the Riemannian mean of `covs`. */
  static fit(covs: readonly Float64Array[], n: number): Recenter {
    return new Recenter(n, riemannMean(covs, n));
  }

  /** M^-1/2 C M^-1/2 into `out` (which must not alias `cov`). */
  apply(cov: ArrayLike<number>, out: Float64Array = new Float64Array(this.n * this.n)): Float64Array {
    return this.ops.congruence(this.whitener, cov, out);
  }
}
