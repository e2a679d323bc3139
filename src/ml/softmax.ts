/** Replaces scores by their softmax, exp(s_k − max) / Σ, in place; returns the same array. */
export function softmaxInPlace(out: Float64Array): Float64Array {
  let max = -Infinity;
  for (let k = 0; k < out.length; k++) if (out[k] > max) max = out[k];
  let sum = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = Math.exp(out[k] - max);
    sum += out[k];
  }
  for (let k = 0; k < out.length; k++) out[k] /= sum;
  return out;
}

/** Index of the largest value (the first one on ties). */
export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
  return best;
}
