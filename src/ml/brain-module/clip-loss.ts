/**
 * CLIP (InfoNCE) loss between a batch of brain embeddings and the embeddings of the images the
 * windows were recorded for, plus an optional MSE term.
 *
 * With p_i = pred_i / |pred_i| and y_j = target_j / |target_j|, logits_ij = s * p_i . y_j, where
 * s = 1 / temperature is a fixed number or a scalar tensor (the trainer learns log s by default,
 * see brain-module-trainer.ts). The brain -> image term is the cross-entropy of each row's softmax
 * with its own column as the target; with `symmetric` (the default, as in CLIP) the image -> brain
 * term, the same over columns, is averaged in.
 *
 * Duplicate positives: when one image occurs twice in a batch (two repetitions, or two subjects
 * seeing it), row i's "negatives" would include the other window's column, which holds the same
 * image: the loss would push the window away from its own image. `duplicateMask` builds an
 * additive [B, B] mask that removes, for every pair i != j of windows of the same image, column j
 * from row i's softmax (and row i from column j's): each window keeps its own diagonal as the
 * single positive and competes only against other images.
 *
 * The MSE term is the mean over the B x D entries of (pred - target)^2, on the raw (unnormalised)
 * embeddings. Total = clipWeight * clip + mseWeight * mse.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Additive logit used to remove a duplicate pair from the softmax. */
export const MASKED_LOGIT = -1e9;

export interface ClipLossOptions {
  /** Logit scale 1 / temperature: a number or a scalar tensor (default 10, i.e. temperature 0.1). */
  readonly scale?: number | tf.Scalar;
  /** Average brain -> image and image -> brain cross-entropies (default true); false: brain -> image only. */
  readonly symmetric?: boolean;
  /** [B, B] additive mask from `duplicateMask` (0 keep, MASKED_LOGIT drop); null / absent: no duplicates. */
  readonly mask?: tf.Tensor2D | null;
  /** Weight of the CLIP term (default 1). */
  readonly clipWeight?: number;
  /** Weight of the MSE term (default 0). */
  readonly mseWeight?: number;
}

type GradFn = Parameters<typeof tf.customGrad>[0];

/** Row-wise L2 normalisation of a [B, D] tensor (a zero row stays zero). */
export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div<tf.Tensor2D>(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12))));
}

/** Row-wise L2 normalisation of n x D values, in a new array. */
export function l2NormalizeArray(x: Float32Array, n: number, D: number): Float32Array {
  if (x.length !== n * D) throw new Error(`clip loss: expected ${n * D} values (${n} x ${D}), got ${x.length}`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[i * D + d] ** 2;
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let d = 0; d < D; d++) out[i * D + d] = x[i * D + d] * inv;
  }
  return out;
}

/**
 * The [B, B] additive duplicate mask of a batch whose window b shows image `keys[b]`: MASKED_LOGIT
 * at (i, j), i != j, when keys[i] === keys[j], 0 elsewhere; null when all keys differ.
 */
export function duplicateMask(keys: readonly (string | number)[]): Float32Array | null {
  const B = keys.length;
  const byKey = new Map<string | number, number[]>();
  keys.forEach((k, i) => {
    const list = byKey.get(k);
    if (list) list.push(i);
    else byKey.set(k, [i]);
  });
  if (byKey.size === B) return null;
  const m = new Float32Array(B * B);
  for (const list of byKey.values()) {
    if (list.length < 2) continue;
    for (const i of list) for (const j of list) if (i !== j) m[i * B + j] = MASKED_LOGIT;
  }
  return m;
}

/**
 * The loss (a scalar) of predicted embeddings `pred` [B, D] against image embeddings `target`
 * [B, D] (row b = the image of window b; the target gets no gradient).
 */
export function clipLoss(pred: tf.Tensor2D, target: tf.Tensor2D, opts: ClipLossOptions = {}): tf.Scalar {
  const [B, D] = pred.shape;
  if (target.shape[0] !== B || target.shape[1] !== D) throw new Error(`clip loss: target has shape [${target.shape.join(', ')}], expected [${B}, ${D}]`);
  if (opts.mask && (opts.mask.shape[0] !== B || opts.mask.shape[1] !== B)) throw new Error(`clip loss: mask has shape [${opts.mask.shape.join(', ')}], expected [${B}, ${B}]`);
  const clipWeight = opts.clipWeight ?? 1;
  const mseWeight = opts.mseWeight ?? 0;
  const symmetric = opts.symmetric ?? true;
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    if (clipWeight !== 0) {
      const p = l2NormalizeRows(pred);
      const yT = tf.transpose(l2NormalizeRows(target));
      // p @ yT with the gradient to p only (dy @ y), as untransposed products. yT goes through
      // `save`: the backward pass runs after this tidy has ended.
      const similarity = tf.customGrad(((a: tf.Tensor2D, save: tf.GradSaveFunc) => {
        save([yT]);
        return {
          value: tf.matMul(a, yT),
          gradFunc: (dy: tf.Tensor2D, [s]: tf.Tensor[]) => tf.matMul(dy, tf.transpose(s)),
        };
      }) as unknown as GradFn) as unknown as (a: tf.Tensor2D) => tf.Tensor2D;
      let logits = tf.mul<tf.Tensor2D>(similarity(p), opts.scale ?? 10);
      if (opts.mask) logits = tf.add(logits, opts.mask);
      const eye = tf.eye(B);
      const diagonalMean = (l: tf.Tensor2D): tf.Scalar => tf.div<tf.Scalar>(tf.sum(tf.mul(tf.logSoftmax(l), eye)), -B);
      let clip = diagonalMean(logits);
      if (symmetric) clip = tf.mul<tf.Scalar>(0.5, tf.add(clip, diagonalMean(tf.transpose(logits))));
      terms.push(tf.mul<tf.Scalar>(clipWeight, clip));
    }
    if (mseWeight !== 0) terms.push(tf.mul<tf.Scalar>(mseWeight, tf.mean(tf.squaredDifference(pred, target))));
    if (terms.length === 0) return tf.mul<tf.Scalar>(tf.sum(pred), 0);
    return terms.length === 1 ? terms[0] : tf.add<tf.Scalar>(terms[0], terms[1]);
  });
}
