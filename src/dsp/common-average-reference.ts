import { map, type OperatorFunction } from 'rxjs';
import type { Chunk } from '../stream/types.js';

/** Subtracts, sample by sample, the mean over all channels (common average reference). */
export function commonAverageReference(): OperatorFunction<Chunk, Chunk> {
  return map((chunk) => {
    const n = chunk.info.channels.length;
    const data = new Float32Array(chunk.samples * n);
    rereferenceToAverage(chunk.data, n, chunk.samples, data);
    return { ...chunk, data };
  });
}

export function rereferenceToAverage(src: Float32Array, channels: number, samples: number, dst: Float32Array): void {
  for (let s = 0; s < samples; s++) {
    const o = s * channels;
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += src[o + c];
    const mean = sum / channels;
    for (let c = 0; c < channels; c++) dst[o + c] = src[o + c] - mean;
  }
}
