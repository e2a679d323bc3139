/**
 * EEGNet training: Adam on categorical cross-entropy through the conv-free graph (eegnet-graph.ts),
 * in the shared loop (src/ml/tfjs/training-loop.ts). Particular to EEGNet: each step's batch
 * patch statistics and seeded dropout masks, and after each Adam step the BatchNorm moving
 * averages and the max-norm constraints.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { performance } from 'node:perf_hooks';
import { Random } from '../../util/random.js';
import { dropoutMask } from '../tfjs/dropout-mask.js';
import { runTrainingLoop } from '../tfjs/training-loop.js';
import { EegNetGraph, type BatchMoments } from './eegnet-graph.js';
import type { PaddedEpochs } from './padded-epochs.js';

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
export async function trainEegNet(model: LayersModel, set: PaddedEpochs, labels: Int32Array, train: readonly number[], opts: TrainOptions): Promise<TrainReport> {
  const t0 = performance.now();
  if (train.length === 0) throw new Error('eegnet: no training epochs');
  const graph = new EegNetGraph(model);
  const p = graph.parts;
  const rng = new Random(opts.seed);
  const T4 = Math.floor(p.samples / p.pool1);
  const T32 = Math.floor(T4 / p.pool2);
  const FD = p.F1 * p.D;
  const validation = opts.validation && opts.validation.length > 0 ? opts.validation : null;
  try {
    const run = await runTrainingLoop({
      train,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      rng,
      learningRate: opts.learningRate,
      variables: graph.trainables(),
      checkpoint: () => graph.allWeights(),
      step: (idx, minimize) => {
        const B = idx.length;
        const x = graph.batch(set, idx);
        const { mean, cov } = set.batchPatchMoments(idx);
        const onehot = oneHot(idx, labels, p.classes);
        const mask1 = p.dropout1 > 0 ? dropoutMask(rng, p.dropout1, [FD, B, T4]) : null;
        const mask2 = p.dropout2 > 0 ? dropoutMask(rng, p.dropout2, [p.F2, B, T32]) : null;
        let kept: BatchMoments[] = [];
        try {
          const loss = minimize(() => {
            const out = graph.logits(x, { patchMean: mean, patchCov: cov, mask1, mask2 });
            kept = out.moments.map((m) => ({ bn: m.bn, mean: tf.keep(m.mean), variance: tf.keep(m.variance) }));
            return tf.losses.softmaxCrossEntropy<tf.Tensor2D, tf.Scalar>(onehot, out.logits);
          });
          graph.updateMovingAverages(kept);
          graph.applyConstraints();
          return { loss, weight: B };
        } finally {
          tf.dispose([x.windows, x.windowsT, mean, cov, onehot, ...(mask1 ? [mask1] : []), ...(mask2 ? [mask2] : []), ...kept.flatMap((m) => [m.mean, m.variance])]);
        }
      },
      validate: validation ? () => ({ loss: evaluateLoss(graph, set, labels, validation) }) : undefined,
      onEpoch: (epoch, loss, m) => opts.onEpoch?.(epoch, loss, m ? m.loss : null),
    });
    return {
      epochs: opts.epochs,
      steps: run.steps,
      seconds: (performance.now() - t0) / 1000,
      trainLoss: run.trainLoss,
      validationLoss: run.metrics.map((m) => m.loss),
      bestEpoch: run.bestEpoch,
      backend: tf.getBackend(),
    };
  } finally {
    graph.dispose();
  }
}

/** Mean cross-entropy in inference mode over some epochs. */
function evaluateLoss(graph: EegNetGraph, set: PaddedEpochs, labels: Int32Array, indices: readonly number[], batch = 32): number {
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

function oneHot(indices: readonly number[], labels: Int32Array, classes: number): tf.Tensor2D {
  const v = new Float32Array(indices.length * classes);
  indices.forEach((e, b) => (v[b * classes + labels[e]] = 1));
  return tf.tensor2d(v, [indices.length, classes]);
}
