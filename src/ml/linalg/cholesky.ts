/**
 * The Cholesky factorization of neurorx (one routine for CSP, tangent space and ridge): A = L L^T
 * for an SPD matrix A (flat, row-major, n x n), computed in place in A's lower triangle (the upper
 * triangle is left as it was). Returns -1, or the index of the first pivot that is not positive
 * (A is not positive definite; A is then partly overwritten).
 */
export function choleskyInPlace(a: Float64Array, n: number): number {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      if (i === j) {
        if (!(s > 0)) return i;
        a[i * n + i] = Math.sqrt(s);
      } else {
        a[i * n + j] = s / a[j * n + j];
      }
    }
  }
  return -1;
}

/** Solves A X = B in place (A g x g SPD, overwritten by its factor; B g x d). False if A is not positive definite. */
export function choleskySolveInPlace(a: Float64Array, g: number, b: Float64Array, d: number): boolean {
  if (choleskyInPlace(a, g) >= 0) return false;
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < g; i++) {
      let s = b[i * d + c];
      for (let k = 0; k < i; k++) s -= a[i * g + k] * b[k * d + c];
      b[i * d + c] = s / a[i * g + i];
    }
    for (let i = g - 1; i >= 0; i--) {
      let s = b[i * d + c];
      for (let k = i + 1; k < g; k++) s -= a[k * g + i] * b[k * d + c];
      b[i * d + c] = s / a[i * g + i];
    }
  }
  return true;
}

/**
 * L^-1 for the Cholesky factor L of an SPD matrix A = L L^T (flat, row-major, n x n): the lower
 * triangular whitener, L^-1 A L^-T = I. Throws when A is not positive definite.
 */
export function inverseCholeskyFactor(a: ArrayLike<number>, n: number): Float64Array {
  const l = Float64Array.from(a);
  const bad = choleskyInPlace(l, n);
  if (bad >= 0) throw new Error(`matrix is not positive definite (Cholesky pivot ${pivot(a, l, n, bad)} at ${bad})`);
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

/** The pivot that failed at row `i` (what was left of A's diagonal there). */
function pivot(a: ArrayLike<number>, l: Float64Array, n: number, i: number): number {
  let s = a[i * n + i];
  for (let k = 0; k < i; k++) s -= l[i * n + k] * l[i * n + k];
  return s;
}
