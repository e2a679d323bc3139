/**
 * Eigendecomposition of a real symmetric n x n matrix held flat (row-major Float64Array):
 * Householder reduction to tridiagonal form, then the implicit-shift QL iteration, with the
 * orthogonal transforms accumulated into the eigenvector matrix. ml-matrix implements the same
 * algorithm on nested arrays at ~4 ms for 64 x 64; the Riemannian decoders need one decomposition
 * per trial, so this version works on preallocated buffers, and on the transposed transform so
 * that the hot loops (the reflections and the QL rotations) run along contiguous rows.
 */
export class SymmetricEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /** Eigenvectors as rows: vectors[j * n + i] is component i of eigenvector j (unit norm). */
  readonly vectors: Float64Array;
  private readonly e: Float64Array;

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`SymmetricEigen: size must be a positive integer, got ${n}`);
    this.values = new Float64Array(n);
    this.vectors = new Float64Array(n * n);
    this.e = new Float64Array(n);
  }

  /** Decomposes `a` (only read; must be symmetric). Returns this, with values and vectors filled. */
  decompose(a: ArrayLike<number>): this {
    const { n, vectors } = this;
    if (a.length !== n * n) throw new Error(`SymmetricEigen: expected ${n * n} values, got ${a.length}`);
    for (let i = 0; i < n * n; i++) vectors[i] = a[i];
    this.tridiagonalize();
    this.diagonalize();
    this.sort();
    return this;
  }

  /** Householder reduction: leaves the diagonal in `values`, the sub-diagonal in `e`. */
  private tridiagonalize(): void {
    const { n, values: d, e, vectors: v } = this;
    for (let j = 0; j < n; j++) d[j] = v[j * n + (n - 1)];
    for (let i = n - 1; i > 0; i--) {
      let scale = 0;
      let h = 0;
      for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
      if (scale === 0) {
        e[i] = d[i - 1];
        for (let j = 0; j < i; j++) {
          d[j] = v[j * n + (i - 1)];
          v[j * n + i] = 0;
          v[i * n + j] = 0;
        }
      } else {
        for (let k = 0; k < i; k++) {
          d[k] /= scale;
          h += d[k] * d[k];
        }
        let f = d[i - 1];
        let g = Math.sqrt(h);
        if (f > 0) g = -g;
        e[i] = scale * g;
        h -= f * g;
        d[i - 1] = f - g;
        for (let j = 0; j < i; j++) e[j] = 0;
        for (let j = 0; j < i; j++) {
          f = d[j];
          v[i * n + j] = f;
          g = e[j] + v[j * n + j] * f;
          for (let k = j + 1; k <= i - 1; k++) {
            g += v[j * n + k] * d[k];
            e[k] += v[j * n + k] * f;
          }
          e[j] = g;
        }
        f = 0;
        for (let j = 0; j < i; j++) {
          e[j] /= h;
          f += e[j] * d[j];
        }
        const hh = f / (h + h);
        for (let j = 0; j < i; j++) e[j] -= hh * d[j];
        for (let j = 0; j < i; j++) {
          f = d[j];
          g = e[j];
          for (let k = j; k <= i - 1; k++) v[j * n + k] -= f * e[k] + g * d[k];
          d[j] = v[j * n + (i - 1)];
          v[j * n + i] = 0;
        }
      }
      d[i] = h;
    }
    // Accumulate the Householder reflections into the transform.
    for (let i = 0; i < n - 1; i++) {
      v[i * n + (n - 1)] = v[i * n + i];
      v[i * n + i] = 1;
      const h = d[i + 1];
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = v[(i + 1) * n + k] / h;
        for (let j = 0; j <= i; j++) {
          let g = 0;
          for (let k = 0; k <= i; k++) g += v[(i + 1) * n + k] * v[j * n + k];
          for (let k = 0; k <= i; k++) v[j * n + k] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) v[(i + 1) * n + k] = 0;
    }
    for (let j = 0; j < n; j++) {
      d[j] = v[j * n + (n - 1)];
      v[j * n + (n - 1)] = 0;
    }
    v[(n - 1) * n + (n - 1)] = 1;
    e[0] = 0;
  }

  /** Implicit-shift QL on the tridiagonal form, rotating the eigenvector columns along. */
  private diagonalize(): void {
    const { n, values: d, e, vectors: v } = this;
    for (let i = 1; i < n; i++) e[i - 1] = e[i];
    e[n - 1] = 0;
    let f = 0;
    let tst1 = 0;
    const eps = 2 ** -52;
    for (let l = 0; l < n; l++) {
      tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
      let m = l;
      while (m < n && Math.abs(e[m]) > eps * tst1) m++;
      if (m === n) m = n - 1;
      if (m > l) {
        let iterations = 0;
        do {
          if (++iterations > 60) throw new Error('SymmetricEigen: no convergence (matrix has non-finite values?)');
          let g = d[l];
          let p = (d[l + 1] - g) / (2 * e[l]);
          let r = Math.sqrt(p * p + 1);
          if (p < 0) r = -r;
          d[l] = e[l] / (p + r);
          d[l + 1] = e[l] * (p + r);
          const dl1 = d[l + 1];
          let h = g - d[l];
          for (let i = l + 2; i < n; i++) d[i] -= h;
          f += h;
          p = d[m];
          let c = 1;
          let c2 = c;
          let c3 = c;
          const el1 = e[l + 1];
          let s = 0;
          let s2 = 0;
          for (let i = m - 1; i >= l; i--) {
            c3 = c2;
            c2 = c;
            s2 = s;
            g = c * e[i];
            h = c * p;
            r = Math.sqrt(p * p + e[i] * e[i]);
            e[i + 1] = s * r;
            s = e[i] / r;
            c = p / r;
            p = c * d[i] - s * g;
            d[i + 1] = h + s * (c * g + s * d[i]);
            // Rows i and i+1 of the transposed transform: contiguous memory.
            const ri = i * n;
            const ri1 = ri + n;
            for (let k = 0; k < n; k++) {
              const vi1 = v[ri1 + k];
              const vi = v[ri + k];
              v[ri1 + k] = s * vi + c * vi1;
              v[ri + k] = c * vi - s * vi1;
            }
          }
          p = (-s * s2 * c3 * el1 * e[l]) / dl1;
          e[l] = s * p;
          d[l] = c * p;
        } while (Math.abs(e[l]) > eps * tst1);
      }
      d[l] += f;
      e[l] = 0;
    }
  }

  /** Ascending order of eigenvalues, columns moved along. */
  private sort(): void {
    const { n, values: d, vectors: v } = this;
    for (let i = 0; i < n - 1; i++) {
      let k = i;
      for (let j = i + 1; j < n; j++) if (d[j] < d[k]) k = j;
      if (k === i) continue;
      const t = d[k];
      d[k] = d[i];
      d[i] = t;
      for (let r = 0; r < n; r++) {
        const x = v[i * n + r];
        v[i * n + r] = v[k * n + r];
        v[k * n + r] = x;
      }
    }
  }
}
