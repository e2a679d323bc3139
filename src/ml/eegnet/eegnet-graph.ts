/**
 * EEGNet's graph without convolution kernels, for fast training (eegnet-trainer.ts).
 *
 * Why: tfjs's cpu backend computes convolution gradients in plain JS (~300 ms per epoch of EEG) and
 * the wasm backend has no Conv2DBackpropFilter kernel at all, so `model.fit` is unusable there.
 * The graph here runs on the SAME tf.Variables the LayersModel holds and is mathematically
 * identical to EEGNet in training and in inference mode, but made of matrix products and
 * element-wise ops:
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
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { matMul2d, timesConst } from '../tfjs/mat-mul.js';
import { eegNetParts, type BatchNormParts, type ConstrainedVariable, type EegNetParts } from './eegnet-model.js';
import { blockPlan, type BlockPlan, type PaddedEpochs } from './padded-epochs.js';

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
export interface BatchMoments {
  readonly bn: BatchNormParts;
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
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
    return timesConst(kernelsT, this.selector, this.selectorT);
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

  constructor(model: LayersModel) {
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
      p.temporal.variable,
      p.bn1.gamma,
      p.bn1.beta,
      p.spatial.variable,
      p.bn2.gamma,
      p.bn2.beta,
      p.separableDepthwise.variable,
      p.separablePointwise.variable,
      p.bn3.gamma,
      p.bn3.beta,
      p.denseKernel.variable,
      p.denseBias.variable,
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
    const w2 = tf.reshape<tf.Rank.R2>(p.spatial.variable, [p.channels, FD]);
    const w2T = tf.split<tf.Tensor2D>(tf.transpose(w2), p.F1, 0);
    const w1 = tf.reshape<tf.Rank.R2>(p.temporal.variable, [K, p.F1]);
    const bands = tf.split(this.temporalBands.bands(tf.transpose(w1)), p.F1, 0);
    const blocks = bands.map((band, f) => {
      const S = timesConst(w2T[f], x.windows, x.windowsT);
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
    if (train?.mask1) h = tf.mul<tf.Tensor3D>(h, train.mask1);

    // Separable conv: depthwise (1 x k) as one band matrix per series over the 'same'-padded
    // series (a small batched product), then pointwise as a matMul.
    const T4 = h.shape[2];
    const ks = p.separableKernel;
    const before = Math.floor((ks - 1) / 2);
    const hp = tf.pad(h, [
      [0, 0],
      [0, 0],
      [before, ks - 1 - before],
    ]);
    const w3 = tf.reshape<tf.Rank.R2>(p.separableDepthwise.variable, [ks, FD]);
    const band3 = tf.reshape(this.separableBands.bands(tf.transpose(w3)), [FD, T4 + ks - 1, T4]);
    const dw = tf.matMul(hp, band3);
    const w3p = tf.reshape<tf.Rank.R2>(p.separablePointwise.variable, [FD, p.F2]);
    const pw: tf.Tensor3D = tf.reshape(matMul2d(tf.transpose(w3p), tf.reshape(dw, [FD, B * T4])), [p.F2, B, T4]);

    h = this.batchNorm(pw, p.bn3, train !== undefined, moments);
    h = avgPool(tf.elu(h), p.pool2);
    if (train?.mask2) h = tf.mul<tf.Tensor3D>(h, train.mask2);
    // Keras flattens (1, T32, F2) channels_last as t * F2 + f.
    const T32 = h.shape[2];
    const flat = tf.reshape<tf.Rank.R2>(tf.transpose(h, [1, 2, 0]), [B, T32 * p.F2]);
    const logits = tf.add<tf.Tensor2D>(matMul2d(flat, p.denseKernel.variable as tf.Tensor2D), p.denseBias.variable);
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

/** Class probabilities [n * classes] of some epochs through the re-formulated graph in inference mode. */
export function reformulatedProbabilities(model: LayersModel, set: PaddedEpochs, indices: readonly number[]): Float32Array {
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
