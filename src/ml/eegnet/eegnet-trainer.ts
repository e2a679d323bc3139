/**
 * Fast EEGNet training without convolution kernels.
 *
 * Why: tfjs's cpu backend computes convolution gradients in plain JS (~300 ms per epoch of EEG) and
 * the wasm backend has no Conv2DBackpropFilter kernel at all, so `model.fit` is unusable there.
 * This file trains the SAME tf.Variables the LayersModel holds, through a graph that is
 * mathematically identical to EEGNet in training and in inference mode but made of matrix
 * products and element-wise ops:
 *
 *  - Conv2D(1 x K) then DepthwiseConv2D(C x 1) are both linear, so the spatial filters go first,
 *    S = W2' Xpad (C input channels -> F1*D series), then each series gets its temporal kernel.
 *    The temporal convolution is cut into blocks of L outputs: block r of a series is its window
 *    of L + K - 1 padded samples times a banded (Toeplitz) matrix built from the kernel. Windows
 *    of S are W2' times windows of the input, and the input needs no gradient, so its windows are
 *    cut in plain JS once per batch and the whole front end is a few 2-D matMuls.
 *  - BatchNorm between the two convolutions is a per-filter affine map, so it commutes with the
 *    spatial sum: y = a_f * (spatial sum of conv) + c_f * sum_c W2[c, j]. Its training statistics
 *    (mean and biased variance of the conv output over batch, channels and time) are a linear and
 *    a quadratic form of the kernel: mean_f = m . w_f and var_f = w_f' Cov w_f, where m and Cov are
 *    the mean and covariance of the input's length-K patches, computed once per epoch in JS and
 *    summed per batch.
 *  - SeparableConv2D: the depthwise (1 x 16) part is one banded matrix per series, the pointwise
 *    part a matMul; average pooling is reshape + mean; dropout a seeded mask.
 *
 * The large products and their gradients are plain (untransposed) 2-D matMuls: only those reach
 * XNNPACK in tfjs-backend-wasm (~25 GFLOP/s here); a transposed or batched operand falls back to a
 * loop ~10x slower (only the small separable-depthwise product is batched). Moving averages are
 * updated as tfjs-layers does (m <- m - (m - batch) * (1 - momentum), biased batch variance) and
 * the max-norm constraints are applied after each Adam step (Keras does; tfjs's own fit does not),
 * so the trained LayersModel predicts identically.
 *
 * Measured on EEGMMIDB-sized epochs (64 channels x 481 samples, kernel 80, batch 16, 2-core
 * machine): ~60 ms per step here on wasm, ~0.66 s on the cpu backend, and tfjs-layers' own
 * model.fit ~63 s on cpu (and none on wasm: no Conv2DBackpropFilter kernel).
 */
import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import { Random } from '../../util/random.js';
import { eegNetParts, type BatchNormParts, type ConstrainedVariable, type EegNetParts } from './eegnet-model.js';

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

/** One batch's input to the graph. */
export interface GraphBatch {
  readonly windows: tf.Tensor2D;
  readonly windowsT: tf.Tensor2D;
  readonly size: number;
}

/** Batch statistics and dropout masks that make the graph run in training mode. */
export interface TrainingInputs {
  /** [1, K] */
  readonly patchMean: tf.Tensor2D;
  /** [K, K] */
  readonly patchCov: tf.Tensor2D;
  /** [F1*D, B, T/pool1] and [F2, B, T/pool1/pool2], scaled by 1/(1-rate); null: no dropout. */
  readonly mask1: tf.Tensor3D | null;
  readonly mask2: tf.Tensor3D | null;
}

/** Batch mean and variance of one BatchNorm layer's input, for its moving averages. */
interface BatchMoments {
  readonly bn: BatchNormParts;
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
}

type MatMul2d = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** a @ b with the gradients as untransposed 2-D products too (see the header). */
const matMul2d = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, [sa, sb]: tf.Tensor[]) => [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as MatMul2d;

/** a @ b for a constant b whose transpose bT is at hand: the gradient reaches only a. */
function matMulConst(a: tf.Tensor2D, b: tf.Tensor2D, bT: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad(((x: tf.Tensor2D) => ({
    value: tf.matMul(x, b),
    gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, bT),
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
  return op(a);
}

/**
 * Constant 0/1 selector that lays a k-tap kernel out as a banded window x block matrix:
 * banded[i, l] = w[i - l] = (w' @ selector)[i*block + l]. Kept with its transpose for the gradient.
 */
class BandSelector {
  readonly selector: tf.Tensor2D;
  readonly selectorT: tf.Tensor2D;

  constructor(
    readonly taps: number,
    readonly window: number,
    readonly block: number,
  ) {
    const wl = window * block;
    const sel = new Float32Array(taps * wl);
    const selT = new Float32Array(wl * taps);
    for (let k = 0; k < taps; k++) {
      for (let l = 0; l < block && l + k < window; l++) {
        const col = (l + k) * block + l;
        sel[k * wl + col] = 1;
        selT[col * taps + k] = 1;
      }
    }
    this.selector = tf.tensor2d(sel, [taps, wl]);
    this.selectorT = tf.tensor2d(selT, [wl, taps]);
  }

  /** Kernels [F, taps] (one per row) -> banded matrices [F, window * block]. */
  bands(kernelsT: tf.Tensor2D): tf.Tensor2D {
    return matMulConst(kernelsT, this.selector, this.selectorT);
  }

  dispose(): void {
    tf.dispose([this.selector, this.selectorT]);
  }
}

/**
 * EEGNet's forward pass re-formulated without convolutions, over a model's own variables.
 * Activations are laid out [feature, batch, time] so that each matMul reads its operands in place.
 */
export class EegNetGraph {
  readonly parts: EegNetParts;
  readonly plan: BlockPlan;
  /** [F1, F1*D]: copies per-temporal-filter values to its D spatial filters (index f*D + d). */
  private readonly expand: tf.Tensor2D;
  private readonly temporalBands: BandSelector;
  private readonly separableBands: BandSelector;

  constructor(readonly model: tf.LayersModel) {
    this.parts = eegNetParts(model);
    const { F1, D, kernLength, samples, pool1, separableKernel } = this.parts;
    const e = new Float32Array(F1 * F1 * D);
    for (let f = 0; f < F1; f++) for (let d = 0; d < D; d++) e[f * F1 * D + f * D + d] = 1;
    this.expand = tf.tensor2d(e, [F1, F1 * D]);
    this.plan = blockPlan(samples, kernLength);
    this.temporalBands = new BandSelector(kernLength, this.plan.window, this.plan.block);
    const T4 = Math.floor(samples / pool1);
    this.separableBands = new BandSelector(separableKernel, T4 + separableKernel - 1, T4);
  }

  /** Trainable variables, in a fixed order. */
  trainables(): tf.Variable[] {
    const p = this.parts;
    return [
      p.temporal.variable, p.bn1.gamma, p.bn1.beta, p.spatial.variable, p.bn2.gamma, p.bn2.beta,
      p.separableDepthwise.variable, p.separablePointwise.variable, p.bn3.gamma, p.bn3.beta,
      p.denseKernel.variable, p.denseBias.variable,
    ];
  }

  /** Every weight, moving averages included (what a checkpoint must hold). */
  allWeights(): tf.Variable[] {
    const p = this.parts;
    return [...this.trainables(), ...[p.bn1, p.bn2, p.bn3].flatMap((b) => [b.movingMean, b.movingVariance])];
  }

  private constrained(): ConstrainedVariable[] {
    const p = this.parts;
    return [p.temporal, p.spatial, p.separableDepthwise, p.separablePointwise, p.denseKernel, p.denseBias].filter((c) => c.constraint !== null);
  }

  /** A batch of epochs of `set` as graph input. */
  batch(set: PaddedEpochs, indices: readonly number[]): GraphBatch {
    const p = this.parts;
    if (set.samples !== p.samples || set.channels !== p.channels || set.kernLength !== p.kernLength) {
      throw new Error(`eegnet: epochs are ${set.samples} x ${set.channels} (kernel ${set.kernLength}), the model wants ${p.samples} x ${p.channels} (kernel ${p.kernLength})`);
    }
    return { ...set.batchWindows(indices), size: indices.length };
  }

  /**
   * Logits of a batch. Inference mode (train undefined) uses the moving averages; training mode
   * uses batch statistics and returns them for the moving averages.
   */
  logits(x: GraphBatch, train?: TrainingInputs): { logits: tf.Tensor2D; moments: BatchMoments[] } {
    const p = this.parts;
    const { block: L, blocks: nb, window: W } = this.plan;
    const B = x.size;
    const T = p.samples;
    const K = p.kernLength;
    const FD = p.F1 * p.D;
    const moments: BatchMoments[] = [];

    // Per temporal filter f: its D spatial filters on the input windows,
    // S[d, (b, r, i)] = sum_c W2[c, f, d] xwin[c, (b, r, i)], then rows (d, b, r) times f's band
    // matrix. (One product per f: splitting one big product's rows costs more in wasm.)
    const w2 = tf.reshape(p.spatial.variable, [p.channels, FD]) as tf.Tensor2D;
    const w2T = tf.split(tf.transpose(w2), p.F1, 0) as tf.Tensor2D[];
    const w1 = tf.reshape(p.temporal.variable, [K, p.F1]) as tf.Tensor2D;
    const bands = tf.split(this.temporalBands.bands(tf.transpose(w1)), p.F1, 0);
    const blocks = bands.map((band, f) => {
      const S = matMulConst(w2T[f], x.windows, x.windowsT);
      return matMul2d(tf.reshape(S, [p.D * B * nb, W]), tf.reshape(band, [W, L]));
    });
    let Z: tf.Tensor3D = tf.reshape(tf.concat(blocks, 0), [FD, B, nb * L]);
    if (nb * L !== T) Z = tf.slice(Z, [0, 0, 0], [FD, B, T]);

    // BatchNorm 1 as the affine map a_f * conv + c_f, moved through the spatial sum.
    let mean1: tf.Tensor1D;
    let var1: tf.Tensor1D;
    if (train) {
      mean1 = tf.reshape(matMul2d(train.patchMean, w1), [p.F1]);
      var1 = tf.relu(tf.sum(tf.mul(w1, matMul2d(train.patchCov, w1)), 0)) as tf.Tensor1D;
      moments.push({ bn: p.bn1, mean: mean1, variance: var1 });
    } else {
      mean1 = p.bn1.movingMean as tf.Tensor1D;
      var1 = p.bn1.movingVariance as tf.Tensor1D;
    }
    const a1 = tf.mul(p.bn1.gamma, tf.rsqrt(tf.add(var1, p.bn1.epsilon)));
    const c1 = tf.sub(p.bn1.beta, tf.mul(mean1, a1));
    const a1e = tf.reshape(matMul2d(tf.reshape(a1, [1, p.F1]), this.expand), [FD, 1, 1]);
    const c1e = tf.reshape(matMul2d(tf.reshape(c1, [1, p.F1]), this.expand), [FD, 1, 1]);
    const y2: tf.Tensor3D = tf.add(tf.mul(Z, a1e), tf.mul(c1e, tf.reshape(tf.sum(w2, 0), [FD, 1, 1])));

    let h = this.batchNorm(y2, p.bn2, train !== undefined, moments);
    h = avgPool(tf.elu(h), p.pool1);
    if (train?.mask1) h = tf.mul(h, train.mask1) as tf.Tensor3D;

    // Separable conv: depthwise (1 x k) as one band matrix per series over the 'same'-padded
    // series (a small batched product), then pointwise as a matMul.
    const T4 = h.shape[2];
    const ks = p.separableKernel;
    const before = Math.floor((ks - 1) / 2);
    const hp = tf.pad(h, [[0, 0], [0, 0], [before, ks - 1 - before]]);
    const w3 = tf.reshape(p.separableDepthwise.variable, [ks, FD]) as tf.Tensor2D;
    const band3 = tf.reshape(this.separableBands.bands(tf.transpose(w3)), [FD, T4 + ks - 1, T4]);
    const dw = tf.matMul(hp, band3);
    const w3p = tf.reshape(p.separablePointwise.variable, [FD, p.F2]) as tf.Tensor2D;
    const pw: tf.Tensor3D = tf.reshape(matMul2d(tf.transpose(w3p), tf.reshape(dw, [FD, B * T4])), [p.F2, B, T4]);

    h = this.batchNorm(pw, p.bn3, train !== undefined, moments);
    h = avgPool(tf.elu(h), p.pool2);
    if (train?.mask2) h = tf.mul(h, train.mask2) as tf.Tensor3D;
    // Keras flattens (1, T32, F2) channels_last as t * F2 + f.
    const T32 = h.shape[2];
    const flat = tf.reshape(tf.transpose(h, [1, 2, 0]), [B, T32 * p.F2]) as tf.Tensor2D;
    const logits = tf.add(matMul2d(flat, p.denseKernel.variable as tf.Tensor2D), p.denseBias.variable) as tf.Tensor2D;
    return { logits, moments };
  }

  /** BatchNorm of a [F, B, T] tensor over batch and time, per feature. */
  private batchNorm(y: tf.Tensor3D, bn: BatchNormParts, training: boolean, moments: BatchMoments[]): tf.Tensor3D {
    const F = y.shape[0];
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (training) {
      const m = tf.moments(y, [1, 2]);
      mean = m.mean as tf.Tensor1D;
      variance = m.variance as tf.Tensor1D;
      moments.push({ bn, mean, variance });
    } else {
      mean = bn.movingMean as tf.Tensor1D;
      variance = bn.movingVariance as tf.Tensor1D;
    }
    const scale = tf.mul(bn.gamma, tf.rsqrt(tf.add(variance, bn.epsilon)));
    const shift = tf.sub(bn.beta, tf.mul(mean, scale));
    return tf.add(tf.mul(y, tf.reshape(scale, [F, 1, 1])), tf.reshape(shift, [F, 1, 1]));
  }

  /** Moving averages after a training step, as tfjs-layers' BatchNormalization updates them. */
  updateMovingAverages(moments: readonly BatchMoments[]): void {
    tf.tidy(() => {
      for (const { bn, mean, variance } of moments) {
        const decay = 1 - bn.momentum;
        bn.movingMean.assign(tf.sub(bn.movingMean, tf.mul(tf.sub(bn.movingMean, mean), decay)));
        bn.movingVariance.assign(tf.sub(bn.movingVariance, tf.mul(tf.sub(bn.movingVariance, variance), decay)));
      }
    });
  }

  /** Projects constrained weights (max-norm) back onto their sets, as Keras does after each step. */
  applyConstraints(): void {
    tf.tidy(() => {
      for (const { variable, constraint } of this.constrained()) variable.assign(constraint!.apply(variable));
    });
  }

  dispose(): void {
    this.expand.dispose();
    this.temporalBands.dispose();
    this.separableBands.dispose();
  }
}

/** Mean over non-overlapping windows of `size` along the last axis (AveragePooling2D (1, size), valid). */
function avgPool(x: tf.Tensor3D, size: number): tf.Tensor3D {
  const [F, B, T] = x.shape;
  const out = Math.floor(T / size);
  const used = out * size === T ? x : tf.slice(x, [0, 0, 0], [F, B, out * size]);
  return tf.mean(tf.reshape(used, [F, B, out, size]), 3);
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  /** Epoch indices held out to pick the best epoch by validation loss (Keras' save_best_only). */
  readonly validation?: readonly number[];
  /** Called after each epoch (e.g. progress output). */
  readonly onEpoch?: (epoch: number, trainLoss: number, validationLoss: number | null) => void;
}

export interface TrainReport {
  readonly epochs: number;
  readonly steps: number;
  readonly seconds: number;
  readonly trainLoss: readonly number[];
  readonly validationLoss: readonly number[];
  /** Epoch (0-based) whose weights were kept when validating; null: the last. */
  readonly bestEpoch: number | null;
  readonly backend: string;
}

/**
 * Trains `model` in place on the epochs `train` of `set` (labels: class index per epoch) with
 * Adam and categorical cross-entropy, minibatches shuffled by a seeded generator, seeded dropout.
 * Yields to the event loop after every epoch.
 */
export async function trainEegNet(
  model: tf.LayersModel,
  set: PaddedEpochs,
  labels: Int32Array,
  train: readonly number[],
  opts: TrainOptions,
): Promise<TrainReport> {
  const t0 = performance.now();
  if (train.length === 0) throw new Error('eegnet: no training epochs');
  const graph = new EegNetGraph(model);
  const p = graph.parts;
  const rng = new Random(opts.seed);
  const optimizer = tf.train.adam(opts.learningRate, 0.9, 0.999, 1e-7);
  const vars = graph.trainables();
  const T4 = Math.floor(p.samples / p.pool1);
  const T32 = Math.floor(T4 / p.pool2);
  const FD = p.F1 * p.D;
  const trainLoss: number[] = [];
  const validationLoss: number[] = [];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | null = null;
  let steps = 0;
  const order = [...train];
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      rng.shuffle(order);
      let lossSum = 0;
      for (let start = 0; start < order.length; start += opts.batchSize) {
        const idx = order.slice(start, start + opts.batchSize);
        const B = idx.length;
        const x = graph.batch(set, idx);
        const { mean, cov } = set.batchPatchMoments(idx);
        const onehot = oneHot(idx, labels, p.classes);
        const mask1 = dropoutMask(rng, p.dropout1, [FD, B, T4]);
        const mask2 = dropoutMask(rng, p.dropout2, [p.F2, B, T32]);
        let kept: BatchMoments[] = [];
        try {
          const loss = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => {
              const out = graph.logits(x, { patchMean: mean, patchCov: cov, mask1, mask2 });
              kept = out.moments.map((m) => ({ bn: m.bn, mean: tf.keep(m.mean), variance: tf.keep(m.variance) }));
              return tf.losses.softmaxCrossEntropy(onehot, out.logits) as tf.Scalar;
            }, vars);
            optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
            return value.dataSync()[0];
          });
          graph.updateMovingAverages(kept);
          graph.applyConstraints();
          lossSum += loss * B;
        } finally {
          tf.dispose([x.windows, x.windowsT, mean, cov, onehot, ...(mask1 ? [mask1] : []), ...(mask2 ? [mask2] : []), ...kept.flatMap((m) => [m.mean, m.variance])]);
        }
        steps++;
      }
      trainLoss.push(lossSum / order.length);
      let vl: number | null = null;
      if (opts.validation && opts.validation.length > 0) {
        vl = evaluateLoss(graph, set, labels, opts.validation);
        validationLoss.push(vl);
        if (!best || vl < best.loss) {
          if (best) tf.dispose(best.weights);
          best = { loss: vl, epoch, weights: graph.allWeights().map((v) => tf.clone(v)) };
        }
      }
      opts.onEpoch?.(epoch, trainLoss[epoch], vl);
      await new Promise((r) => setImmediate(r));
    }
    if (best) {
      const b = best;
      graph.allWeights().forEach((v, i) => v.assign(b.weights[i]));
    }
  } finally {
    if (best) tf.dispose(best.weights);
    optimizer.dispose();
    graph.dispose();
  }
  return {
    epochs: opts.epochs,
    steps,
    seconds: (performance.now() - t0) / 1000,
    trainLoss,
    validationLoss,
    bestEpoch: best ? best.epoch : null,
    backend: tf.getBackend(),
  };
}

/** Mean cross-entropy in inference mode over some epochs. */
export function evaluateLoss(graph: EegNetGraph, set: PaddedEpochs, labels: Int32Array, indices: readonly number[], batch = 32): number {
  let sum = 0;
  for (let start = 0; start < indices.length; start += batch) {
    const idx = indices.slice(start, start + batch);
    const loss = tf.tidy(() => {
      const x = graph.batch(set, idx);
      return tf.losses.softmaxCrossEntropy(oneHot(idx, labels, graph.parts.classes), graph.logits(x).logits);
    });
    sum += loss.dataSync()[0] * idx.length;
    loss.dispose();
  }
  return sum / indices.length;
}

/** Class probabilities [n * classes] of some epochs through the re-formulated graph in inference mode. */
export function reformulatedProbabilities(model: tf.LayersModel, set: PaddedEpochs, indices: readonly number[]): Float32Array {
  const graph = new EegNetGraph(model);
  try {
    const probs = tf.tidy(() => tf.softmax(graph.logits(graph.batch(set, indices)).logits));
    const out = probs.dataSync() as Float32Array;
    probs.dispose();
    return out;
  } finally {
    graph.dispose();
  }
}

function oneHot(indices: readonly number[], labels: Int32Array, classes: number): tf.Tensor2D {
  const v = new Float32Array(indices.length * classes);
  indices.forEach((e, b) => (v[b * classes + labels[e]] = 1));
  return tf.tensor2d(v, [indices.length, classes]);
}

/** Inverted-dropout mask (kept units scaled by 1/(1-rate), as Keras), from the seeded generator. */
function dropoutMask(rng: Random, rate: number, shape: [number, number, number]): tf.Tensor3D | null {
  if (rate <= 0) return null;
  const v = new Float32Array(shape[0] * shape[1] * shape[2]);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform() >= rate ? keep : 0;
  return tf.tensor3d(v, shape);
}
