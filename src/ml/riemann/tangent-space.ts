import { inverseCholeskyFactor } from '../linalg/cholesky.js';
import { SpdOps } from '../linalg/spd-ops.js';
import { riemannMean } from './riemann-mean.js';

/** Length of the tangent vector of an n x n SPD matrix: the upper triangle, n(n+1)/2. */
export function tangentLength(n: number): number {
  return (n * (n + 1)) / 2;
}

/**
 * Tangent space mapping at a reference point M (Barachant et al. 2012): each covariance C maps to
 * the upper triangle of log(W C W^T), off-diagonal terms weighted by √2 so the Euclidean norm of
 * the vector equals the Riemannian distance from M. W is the Cholesky whitener L^-1 (M = L L^T)
 * rather than pyRiemann's M^-1/2: the two differ by a fixed rotation, which rotates every tangent
 * vector alike (norms and inner products kept, so an L2-regularised linear classifier decides
 * the same) and costs half as much per trial.
 */
export class TangentSpace {
  readonly whitener: Float64Array;
  private readonly ops: SpdOps;
  private readonly whitened: Float64Array;
  private readonly log: Float64Array;

  constructor(
    readonly n: number,
    readonly reference: Float64Array,
  ) {
    if (reference.length !== n * n) throw new Error(`tangent space: reference must be ${n} x ${n}`);
    this.ops = new SpdOps(n);
    this.whitener = inverseCholeskyFactor(reference, n);
    this.whitened = new Float64Array(n * n);
    this.log = new Float64Array(n * n);
  }

  /** Reference at the Riemannian mean of the training covariances. */
  static fit(covs: readonly Float64Array[], n: number): TangentSpace {
    return new TangentSpace(n, riemannMean(covs, n));
  }

  transform(cov: ArrayLike<number>, out: Float64Array = new Float64Array(tangentLength(this.n))): Float64Array {
    const { n } = this;
    this.ops.lowerCongruence(this.whitener, cov, this.whitened);
    this.ops.log(this.whitened, this.log);
    let k = 0;
    for (let i = 0; i < n; i++) {
      out[k++] = this.log[i * n + i];
      for (let j = i + 1; j < n; j++) out[k++] = Math.SQRT2 * this.log[i * n + j];
    }
    return out;
  }
}
