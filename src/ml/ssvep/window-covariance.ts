/**
 * Per-channel means and the centred scatter matrix X_c^T X_c (channels x channels, row-major) of a
 * block of channels in a sample-major window: channel c of sample s is data[s·stride + offset + c].
 * Filter-bank windows stack bands as channel blocks, hence the stride and offset.
 */
export function centredScatter(data: ArrayLike<number>, samples: number, stride: number, offset: number, channels: number, mean: Float64Array, scatter: Float64Array): void {
  mean.fill(0);
  scatter.fill(0);
  for (let s = 0; s < samples; s++) {
    const o = s * stride + offset;
    for (let i = 0; i < channels; i++) {
      const v = data[o + i];
      mean[i] += v;
      for (let j = 0; j <= i; j++) scatter[i * channels + j] += v * data[o + j];
    }
  }
  for (let i = 0; i < channels; i++) mean[i] /= samples;
  for (let i = 0; i < channels; i++) {
    for (let j = 0; j <= i; j++) {
      const v = scatter[i * channels + j] - samples * mean[i] * mean[j];
      scatter[i * channels + j] = v;
      scatter[j * channels + i] = v;
    }
  }
}
