/** Σ a[ra + k] · b[rb + k] for k < n, with four accumulators (the loop the matrix products spend their time in). */
export function rowDot(a: ArrayLike<number>, ra: number, b: ArrayLike<number>, rb: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += a[ra + k] * b[rb + k];
    s1 += a[ra + k + 1] * b[rb + k + 1];
    s2 += a[ra + k + 2] * b[rb + k + 2];
    s3 += a[ra + k + 3] * b[rb + k + 3];
  }
  for (; k < n; k++) s0 += a[ra + k] * b[rb + k];
  return s0 + s1 + s2 + s3;
}

/**
 * Channel-major copy of `samples` interleaved samples of `channels` channels, optionally minus a
 * per-channel mean: out[c * samples + s] = data[s * channels + c] - mean[c]. Products over time
 * then run along contiguous rows.
 */
export function toChannelMajor(data: Float32Array, samples: number, channels: number, out: Float64Array, mean?: Float64Array): Float64Array {
  for (let s = 0; s < samples; s++) {
    const o = s * channels;
    for (let c = 0; c < channels; c++) out[c * samples + s] = data[o + c] - (mean ? mean[c] : 0);
  }
  return out;
}

/**
 * Adds X X^T (X: channels x samples, channel-major) into the row-major p x p `acc`, both halves.
 * Rows are taken in pairs so that each loaded value feeds two products (a 2 x 2 block of dot
 * products per pass over time): about twice the speed of one dot product at a time.
 */
export function addGram(x: Float64Array, channels: number, samples: number, acc: Float64Array): void {
  const p = channels;
  const n = samples;
  let i = 0;
  for (; i + 1 < p; i += 2) {
    const ri = i * n;
    const ri1 = ri + n;
    // The diagonal 2 x 2 block.
    let aa = 0;
    let ab = 0;
    let bb = 0;
    for (let t = 0; t < n; t++) {
      const a = x[ri + t];
      const b = x[ri1 + t];
      aa += a * a;
      ab += a * b;
      bb += b * b;
    }
    acc[i * p + i] += aa;
    acc[i * p + i + 1] += ab;
    acc[(i + 1) * p + i] += ab;
    acc[(i + 1) * p + i + 1] += bb;
    let j = i + 2;
    for (; j + 1 < p; j += 2) {
      const rj = j * n;
      const rj1 = rj + n;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < n; t++) {
        const a0 = x[ri + t];
        const a1 = x[ri1 + t];
        const b0 = x[rj + t];
        const b1 = x[rj1 + t];
        s00 += a0 * b0;
        s01 += a0 * b1;
        s10 += a1 * b0;
        s11 += a1 * b1;
      }
      addPair(acc, p, i, j, s00);
      addPair(acc, p, i, j + 1, s01);
      addPair(acc, p, i + 1, j, s10);
      addPair(acc, p, i + 1, j + 1, s11);
    }
    if (j < p) {
      addPair(acc, p, i, j, rowDot(x, ri, x, j * n, n));
      addPair(acc, p, i + 1, j, rowDot(x, ri1, x, j * n, n));
    }
  }
  if (i < p) acc[i * p + i] += rowDot(x, i * n, x, i * n, n);
}

function addPair(acc: Float64Array, p: number, i: number, j: number, v: number): void {
  acc[i * p + j] += v;
  acc[j * p + i] += v;
}
