/**
 * L^-1 for the Cholesky factor L of an SPD matrix A = L L^T (flat, row-major, n x n): the lower
 * triangular whitener, L^-1 A L^-T = I. Throws when A is not positive definite.
 */
export function inverseCholeskyFactor(a: ArrayLike<number>, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`matrix is not positive definite (Cholesky pivot ${s} at ${i})`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  // Forward substitution, column by column of the identity.
  const inv = new Float64Array(n * n);
  for (let col = 0; col < n; col++) {
    for (let i = col; i < n; i++) {
      let s = i === col ? 1 : 0;
      for (let k = col; k < i; k++) s -= l[i * n + k] * inv[k * n + col];
      inv[i * n + col] = s / l[i * n + i];
    }
  }
  return inv;
}
