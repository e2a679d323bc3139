/**
 * EEG epochs laid out for the conv-free EEGNet graph (eegnet-graph.ts): zero-padded as the
 * 'same' temporal convolution pads, cut into the input windows of the banded temporal products,
 * with each epoch's patch statistics (the first BatchNorm's training statistics are a linear and a
 * quadratic form of the temporal kernel over them).
 */
import * as tf from '@tensorflow/tfjs-core';

/** How the temporal convolution's outputs are cut into blocks of `block` samples. */
export interface BlockPlan {
  readonly block: number;
  readonly blocks: number;
  /** Input samples behind one block: block + K - 1. */
  readonly window: number;
}

/**
 * Block length for T outputs of a K-tap kernel: one that divides T when there is one in
 * [K/3, K] (no ragged last block to slice off), else K. Longer blocks waste less on window
 * overlap; the banded matrix grows as block * window.
 */
export function blockPlan(T: number, K: number): BlockPlan {
  const longest = Math.min(K, T);
  for (let L = longest; L >= Math.max(8, Math.ceil(K / 3)); L--) {
    if (T % L === 0) return { block: L, blocks: T / L, window: L + K - 1 };
  }
  return { block: longest, blocks: Math.ceil(T / longest), window: longest + K - 1 };
}

/**
 * Epochs laid out for the conv-free graph: zero-padded as TensorFlow's 'same' convolution pads
 * (floor((K-1)/2) zeros before), in sample-major and channel-major copies from which a batch's
 * input windows are cut with contiguous copies, plus each epoch's patch statistics.
 */
export class PaddedEpochs {
  readonly plan: BlockPlan;
  readonly padBefore: number;
  /** Padded length: blocks * block + K - 1 (>= samples + K - 1). */
  readonly paddedLength: number;
  /** n x paddedLength x channels. */
  private readonly sampleMajor: Float32Array;
  /** n x channels x paddedLength. */
  private readonly channelMajor: Float32Array;
  /** Per epoch: sum over channels and output times of each of the K patch elements. */
  private readonly patchSum: Float64Array;
  /** Per epoch: K x K sums of products of patch elements (over channels and output times). */
  private readonly patchGram: Float64Array;
  private staging: { win: Float32Array; winT: Float32Array } | undefined;

  /** `data` holds n epochs of samples x channels values, sample-major (data[(i*samples + s)*channels + c]), multiplied by `scale`. */
  constructor(
    data: Float32Array,
    readonly n: number,
    readonly samples: number,
    readonly channels: number,
    readonly kernLength: number,
    scale = 1,
  ) {
    if (data.length !== n * samples * channels) throw new Error(`eegnet: expected ${n * samples * channels} values (${n} x ${samples} x ${channels}), got ${data.length}`);
    const K = kernLength;
    const C = channels;
    this.plan = blockPlan(samples, K);
    this.padBefore = Math.floor((K - 1) / 2);
    const Te = (this.paddedLength = this.plan.blocks * this.plan.block + K - 1);
    this.sampleMajor = new Float32Array(n * Te * C);
    this.channelMajor = new Float32Array(n * C * Te);
    this.patchSum = new Float64Array(n * K);
    this.patchGram = new Float64Array(n * K * K);
    for (let i = 0; i < n; i++) {
      const sm = i * Te * C;
      const cm = i * C * Te;
      for (let s = 0; s < samples; s++) {
        const t = this.padBefore + s;
        for (let c = 0; c < C; c++) {
          const v = data[(i * samples + s) * C + c] * scale;
          this.sampleMajor[sm + t * C + c] = v;
          this.channelMajor[cm + c * Te + t] = v;
        }
      }
      this.patchStats(i);
    }
  }

  /**
   * Patch statistics of epoch i. Patch element k of output time t is xp[t + k]; with dot(a, b)
   * the channel dot product of padded rows a and b, G[k][k+L] = sum_{t<T} dot(t+k, t+k+L),
   * computed for k = 0 directly and for k > 0 by sliding the window: drop row k, add row k+T.
   */
  private patchStats(i: number): void {
    const K = this.kernLength;
    const T = this.samples;
    const C = this.channels;
    const xp = this.sampleMajor.subarray(i * this.paddedLength * C, (i + 1) * this.paddedLength * C);
    const dot = (a: number, b: number): number => {
      let s = 0;
      for (let c = 0, pa = a * C, pb = b * C; c < C; c++) s += xp[pa + c] * xp[pb + c];
      return s;
    };
    const rowSum = (t: number): number => {
      let s = 0;
      for (let c = 0; c < C; c++) s += xp[t * C + c];
      return s;
    };
    const sum = this.patchSum.subarray(i * K, (i + 1) * K);
    const gram = this.patchGram.subarray(i * K * K, (i + 1) * K * K);
    let s = 0;
    for (let t = 0; t < T; t++) s += rowSum(t);
    sum[0] = s;
    for (let k = 1; k < K; k++) {
      s += rowSum(k - 1 + T) - rowSum(k - 1);
      sum[k] = s;
    }
    for (let L = 0; L < K; L++) {
      let g = 0;
      for (let t = 0; t < T; t++) g += dot(t, t + L);
      gram[L] = g;
      gram[L * K] = g;
      for (let k = 0; k + 1 + L < K; k++) {
        g += dot(k + T, k + T + L) - dot(k, k + L);
        gram[(k + 1) * K + k + 1 + L] = g;
        gram[(k + 1 + L) * K + k + 1] = g;
      }
    }
  }

  /**
   * A batch's input windows, [C, B*blocks*window] (window r of epoch b in columns
   * (b*blocks + r)*window ...) and the same transposed, which the spatial filters' gradient needs.
   * The tensors are staged in buffers reused from call to call (the cpu backend keeps a reference
   * to what tf.tensor is given): dispose them before the next call.
   */
  batchWindows(indices: readonly number[]): { windows: tf.Tensor2D; windowsT: tf.Tensor2D } {
    const { block: L, blocks: nb, window: W } = this.plan;
    const C = this.channels;
    const Te = this.paddedLength;
    const B = indices.length;
    const cols = B * nb * W;
    if (!this.staging || this.staging.win.length < C * cols) this.staging = { win: new Float32Array(C * cols), winT: new Float32Array(C * cols) };
    const win = this.staging.win.subarray(0, C * cols);
    const winT = this.staging.winT.subarray(0, C * cols);
    indices.forEach((e, b) => {
      for (let r = 0; r < nb; r++) {
        const col = (b * nb + r) * W;
        const from = e * Te * C + r * L * C;
        winT.set(this.sampleMajor.subarray(from, from + W * C), col * C);
        for (let c = 0; c < C; c++) {
          const src = (e * C + c) * Te + r * L;
          win.set(this.channelMajor.subarray(src, src + W), c * cols + col);
        }
      }
    });
    return { windows: tf.tensor2d(win, [C, cols]), windowsT: tf.tensor2d(winT, [cols, C]) };
  }

  /** Mean [1, K] and covariance [K, K] of the conv-input patches over a batch's channels and times. */
  batchPatchMoments(indices: readonly number[]): { mean: tf.Tensor2D; cov: tf.Tensor2D } {
    const K = this.kernLength;
    const count = indices.length * this.channels * this.samples;
    const mean = new Float64Array(K);
    const gram = new Float64Array(K * K);
    for (const e of indices) {
      for (let k = 0; k < K; k++) mean[k] += this.patchSum[e * K + k];
      const g = this.patchGram.subarray(e * K * K, (e + 1) * K * K);
      for (let j = 0; j < K * K; j++) gram[j] += g[j];
    }
    for (let k = 0; k < K; k++) mean[k] /= count;
    // Centred in float64 here so float32 never subtracts two large numbers (DC offsets).
    const cov = new Float32Array(K * K);
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) cov[a * K + b] = gram[a * K + b] / count - mean[a] * mean[b];
    return { mean: tf.tensor2d(Float32Array.from(mean), [1, K]), cov: tf.tensor2d(cov, [K, K]) };
  }
}
