import * as tf from '@tensorflow/tfjs-core';

/*
 * 2-D matrix products whose gradients are untransposed products of explicitly transposed
 * operands: tfjs's own matMul gradient passes transpose flags, which tfjs-backend-wasm serves with
 * a loop several times slower than its XNNPACK path (~13x measured for Â' @ dY in the HiSTN
 * network). Shared by the EEGNet, HiSTN and brain-module graphs.
 */
type GradFn = Parameters<typeof tf.customGrad>[0];
type MatMul2d = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
type OneSided = (x: tf.Tensor2D) => tf.Tensor2D;

/** a @ b, gradients to both. */
export const matMul2d = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, [sa, sb]: tf.Tensor[]) => [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)],
  };
}) as unknown as GradFn) as unknown as MatMul2d;

/** a @ b for a constant a (input data, a fixed graph): the gradient reaches b only, as aT @ dY (aT: a's transpose when at hand). */
export function constTimes(a: tf.Tensor2D, b: tf.Tensor2D, aT?: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad(((y: tf.Tensor2D) => ({
    value: tf.matMul(a, y),
    gradFunc: (dy: tf.Tensor2D) => tf.matMul(aT ?? tf.transpose(a), dy),
  })) as unknown as GradFn) as unknown as OneSided;
  return op(b);
}

/** a @ b for a constant b (one that outlives the backward pass): the gradient reaches a only, as dY @ bT (bT: b's transpose when at hand). */
export function timesConst(a: tf.Tensor2D, b: tf.Tensor2D, bT?: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad(((x: tf.Tensor2D) => ({
    value: tf.matMul(x, b),
    gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, bT ?? tf.transpose(b)),
  })) as unknown as GradFn) as unknown as OneSided;
  return op(a);
}
