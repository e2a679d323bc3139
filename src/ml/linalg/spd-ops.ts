import { rowDot } from './row-dot.js';
import { SymmetricEigen } from './symmetric-eigen.js';

/**
 * Matrix functions on symmetric positive definite (SPD) n x n matrices stored flat, row-major:
 * f(C) = V f(Λ) V^T through one eigendecomposition. One instance owns its workspace, so calls
 * allocate nothing; `out` may alias an input except where noted.
 */
export class SpdOps {
  readonly eig: SymmetricEigen;
  private readonly tmp: Float64Array;
  private readonly scaled: Float64Array;

  constructor(readonly n: number) {
    this.eig = new SymmetricEigen(n);
    this.tmp = new Float64Array(n * n);
    this.scaled = new Float64Array(n * n);
  }

  /** out = V diag(f(λ)) V^T. Throws when an eigenvalue is not positive and `f` needs it to be. */
  apply(c: ArrayLike<number>, f: (lambda: number) => number, out: Float64Array, requirePositive = true): Float64Array {
    const { n, tmp, scaled } = this;
    const { values, vectors } = this.eig.decompose(c);
    if (requirePositive && !(values[0] > 0)) {
      throw new Error(`matrix is not positive definite (smallest eigenvalue ${values[0]}): use a shrinkage covariance estimator`);
    }
    // tmp = V (eigenvectors as columns), scaled = V diag(f(λ)); out = scaled V^T, as row dot products.
    for (let k = 0; k < n; k++) {
      const fk = f(values[k]);
      for (let i = 0; i < n; i++) {
        const v = vectors[k * n + i];
        tmp[i * n + k] = v;
        scaled[i * n + k] = fk * v;
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const s = rowDot(scaled, i * n, tmp, j * n, n);
        out[i * n + j] = s;
        out[j * n + i] = s;
      }
    }
    return out;
  }

  sqrt(c: ArrayLike<number>, out: Float64Array): Float64Array {
    return this.apply(c, Math.sqrt, out);
  }

  invSqrt(c: ArrayLike<number>, out: Float64Array): Float64Array {
    return this.apply(c, invSqrt, out);
  }

  log(c: ArrayLike<number>, out: Float64Array): Float64Array {
    return this.apply(c, Math.log, out);
  }

  /** Matrix exponential of a symmetric (not necessarily positive) matrix. */
  exp(c: ArrayLike<number>, out: Float64Array): Float64Array {
    return this.apply(c, Math.exp, out, false);
  }

  /** out = W C W for symmetric W (a congruence: whitening by W = M^-1/2). `out` must not alias `c`. */
  congruence(w: ArrayLike<number>, c: ArrayLike<number>, out: Float64Array): Float64Array {
    const { n, tmp } = this;
    // Both factors are symmetric, so every product is a dot product of two contiguous rows:
    // tmp = W C (tmp[i][j] = W_i . C_j), then out = tmp W (out[i][j] = tmp_i . W_j), upper half.
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) tmp[i * n + j] = rowDot(w, i * n, c, j * n, n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const s = rowDot(tmp, i * n, w, j * n, n);
        out[i * n + j] = s;
        out[j * n + i] = s;
      }
    }
    return out;
  }

  /**
   * out = W C W^T for lower-triangular W (a Cholesky whitener L^-1): the same whitening as the
   * symmetric W C W up to a rotation, at about half the cost (triangular rows are shorter).
   * `out` must not alias `c`.
   */
  lowerCongruence(w: ArrayLike<number>, c: ArrayLike<number>, out: Float64Array): Float64Array {
    const { n, tmp } = this;
    // tmp = W C: row i of W has i + 1 non-zeros; C is symmetric, so C[k][j] = C[j][k].
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) tmp[i * n + j] = rowDot(w, i * n, c, j * n, i + 1);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const s = rowDot(tmp, i * n, w, j * n, j + 1);
        out[i * n + j] = s;
        out[j * n + i] = s;
      }
    }
    return out;
  }

  /**
   * Affine-invariant Riemannian distance between SPD matrices A and B, given A^-1/2:
   * sqrt(sum log^2 λ_i(A^-1/2 B A^-1/2)).
   */
  distanceFromWhitener(aInvSqrt: ArrayLike<number>, b: ArrayLike<number>, work: Float64Array): number {
    this.congruence(aInvSqrt, b, work);
    const { values } = this.eig.decompose(work);
    let s = 0;
    for (let i = 0; i < this.n; i++) {
      if (!(values[i] > 0)) throw new Error(`matrix is not positive definite (eigenvalue ${values[i]})`);
      const l = Math.log(values[i]);
      s += l * l;
    }
    return Math.sqrt(s);
  }
}

function invSqrt(x: number): number {
  return 1 / Math.sqrt(x);
}
