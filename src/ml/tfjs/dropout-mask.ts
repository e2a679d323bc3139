import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '../../util/random.js';

/**
 * Inverted-dropout mask of `shape` (kept units scaled by 1 / (1 - rate), as Keras does), drawn
 * from the trainer's seeded generator so that a seed fixes the whole training run.
 */
export function dropoutMask(rng: Random, rate: number, shape: [number, number]): tf.Tensor2D;
export function dropoutMask(rng: Random, rate: number, shape: [number, number, number]): tf.Tensor3D;
export function dropoutMask(rng: Random, rate: number, shape: number[]): tf.Tensor {
  const v = new Float32Array(shape.reduce((a, d) => a * d, 1));
  const keep = 1 / (1 - rate);
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform() >= rate ? keep : 0;
  return tf.tensor(v, shape);
}
