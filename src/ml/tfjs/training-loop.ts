/**
 * The one minibatch training loop of the TensorFlow.js networks (EEGNet, HiSTN, brain module):
 * Adam, the training indices reshuffled by the trainer's seeded generator every epoch, batches,
 * a validation pass per epoch that keeps a copy of the best weights (restored at the end), early
 * stopping after `patience` epochs without improvement, a progress callback, and a yield to the
 * event loop after each epoch. What a step does with its batch (inputs, masks, loss, updates after
 * the Adam step) is the trainer's: it draws from the same generator, after the shuffle, so a seed
 * fixes the whole run.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradient functions; tfjs-layers' bundle registers all of
// core's (as the @tensorflow/tfjs umbrella did), which the Adam steps here need.
import '@tensorflow/tfjs-layers';
import type { Random } from '../../util/random.js';

/** A batch's loss and its weight in the epoch's mean loss (its size, or its summed sample weights). */
export interface BatchLoss {
  readonly loss: number;
  readonly weight: number;
}

/**
 * One Adam step on `objective` (built inside, so its intermediates are freed); returns the
 * objective's value. `penalty`, when given, is added to it for the gradient only (a regulariser
 * that the reported loss leaves out).
 */
export type Minimize = (objective: () => tf.Scalar, penalty?: () => tf.Scalar) => number;

export interface TrainingLoopOptions<M extends { readonly loss: number }> {
  /** Indices of the training items (the loop shuffles a copy). */
  readonly train: readonly number[];
  readonly epochs: number;
  readonly batchSize: number;
  /** 'sliced' (default): runs of batchSize, the last one shorter; 'even': ceil(n / batchSize) batches of near-equal size. */
  readonly batching?: 'sliced' | 'even';
  readonly rng: Random;
  readonly learningRate: number;
  /** What Adam trains. */
  readonly variables: readonly tf.Variable[];
  /** What the best epoch's copy holds and the end restores (trainables and any state such as moving averages). */
  readonly checkpoint: () => readonly tf.Variable[];
  /** One step on a batch of training indices; null: the batch was skipped (no step counted). */
  step(batch: number[], minimize: Minimize): BatchLoss | null;
  /** Metrics on the held-out items after an epoch; absent: no validation, the last epoch's weights stay. */
  readonly validate?: () => M;
  /** Whether `m` beats the best so far (default: a lower loss). */
  readonly improves?: (m: M, best: M) => boolean;
  /** Epochs without improvement before stopping (default: never stop early). */
  readonly patience?: number;
  readonly onEpoch?: (epoch: number, trainLoss: number, metrics: M | null) => void;
}

export interface TrainingLoopResult<M> {
  /** Mean training loss per epoch run. */
  readonly trainLoss: number[];
  /** Validation metrics per epoch run (empty without validation). */
  readonly metrics: M[];
  /** Epoch whose weights were kept (null without validation: the last). */
  readonly bestEpoch: number | null;
  readonly stoppedEarly: boolean;
  readonly steps: number;
}

export async function runTrainingLoop<M extends { readonly loss: number }>(o: TrainingLoopOptions<M>): Promise<TrainingLoopResult<M>> {
  const improves = o.improves ?? ((m: M, best: M) => m.loss < best.loss);
  const patience = o.patience ?? Infinity;
  const optimizer = tf.train.adam(o.learningRate, 0.9, 0.999, 1e-7);
  const variables = [...o.variables];
  const minimize: Minimize = (objective, penalty) => {
    const value = tf.tidy(() => {
      let reported: tf.Scalar | undefined;
      optimizer.minimize(
        (): tf.Scalar => {
          reported = tf.keep(objective());
          // A new tensor either way: minimize disposes the cost it is given.
          return penalty ? tf.add(reported, penalty()) : tf.clone(reported);
        },
        false,
        variables,
      );
      return reported!;
    });
    const v = value.dataSync()[0];
    value.dispose();
    return v;
  };

  const trainLoss: number[] = [];
  const metrics: M[] = [];
  let best: { metrics: M; epoch: number; weights: tf.Tensor[] } | null = null;
  let steps = 0;
  let stoppedEarly = false;
  const order = [...o.train];
  const n = order.length;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      o.rng.shuffle(order);
      const batches = o.batching === 'even' ? Math.ceil(n / o.batchSize) : 0;
      let lossSum = 0;
      let weightSum = 0;
      for (let b = 0, start = 0; start < n; b++) {
        // (Integer arithmetic: the same cut as order.slice(start, start + batchSize) or the even split.)
        const end = batches > 0 ? Math.floor(((b + 1) * n) / batches) : Math.min(n, start + o.batchSize);
        const out = o.step(order.slice(start, end), minimize);
        start = end;
        if (!out) continue;
        lossSum += out.loss * out.weight;
        weightSum += out.weight;
        steps++;
      }
      trainLoss.push(weightSum > 0 ? lossSum / weightSum : NaN);
      let m: M | null = null;
      if (o.validate) {
        m = o.validate();
        metrics.push(m);
        if (!best || improves(m, best.metrics)) {
          if (best) tf.dispose(best.weights);
          best = { metrics: m, epoch, weights: o.checkpoint().map((v) => tf.clone(v)) };
        }
      }
      o.onEpoch?.(epoch, trainLoss[epoch], m);
      await new Promise((r) => setImmediate(r));
      if (best && epoch - best.epoch >= patience) {
        stoppedEarly = epoch + 1 < o.epochs;
        break;
      }
    }
    if (best) {
      const kept = best.weights;
      o.checkpoint().forEach((v, i) => v.assign(kept[i]));
    }
  } finally {
    if (best) tf.dispose(best.weights);
    optimizer.dispose();
  }
  return { trainLoss, metrics, bestEpoch: best ? best.epoch : null, stoppedEarly, steps };
}
