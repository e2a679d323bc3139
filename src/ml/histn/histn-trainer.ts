/**
 * Training of the HiSTN-like network (histn-model.ts): Adam on mini-batches, cross-entropy
 * against order-respecting soft targets (ordinal-labels.ts), small L2 on the dense kernels,
 * optional class weighting, seeded shuffling and dropout, a validation split with early stopping
 * that restores the best weights (the loop is the shared one, src/ml/tfjs/training-loop.ts).
 *
 * The graph is matMuls and element-wise ops only, so it trains on the wasm backend (no conv
 * gradients needed) and on the pure-JS cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { Random } from '../../util/random.js';
import { initTfjsBackend, type TfjsBackendName } from '../tfjs/backend.js';
import { dropoutMask } from '../tfjs/dropout-mask.js';
import { runTrainingLoop } from '../tfjs/training-loop.js';
import { HISTN_KERNEL_NAMES, HistnModel, type HistnSpec } from './histn-model.js';
import { ordinalTargets, type OrdinalSmoothing } from './ordinal-labels.js';

export interface HistnEpochInfo {
  /** 0-based. */
  readonly epoch: number;
  /** Mean training loss (weighted soft-target cross-entropy, without the L2 term). */
  readonly loss: number;
  readonly validationLoss: number | null;
  readonly validationAccuracy: number | null;
  /** Seconds since training started. */
  readonly seconds: number;
}

export interface HistnTrainOptions extends OrdinalSmoothing {
  /** Continue training this model (its shape must match X); otherwise one is created from the fields below. */
  readonly model?: HistnModel;
  readonly channels?: readonly string[];
  readonly featureCount?: number;
  readonly sequenceLength?: number;
  /** Class names in order (lowest first). */
  readonly classes?: readonly string[];
  /** Network settings for a new model; spec.seed defaults to `seed`. */
  readonly spec?: HistnSpec;
  /** Maximum epochs (default 80: ~10k sequences of [8, 14, 5] take ~1.2 s per epoch on wasm here, so at most ~1.5 min). */
  readonly epochs?: number;
  /** Default 64. */
  readonly batchSize?: number;
  /** Adam learning rate (default 0.01). */
  readonly learningRate?: number;
  /** L2 coefficient on the dense kernels (default 1e-4). */
  readonly l2?: number;
  /** 'balanced' (n / (K * n_class)) or one weight per class; default none. */
  readonly classWeights?: 'balanced' | readonly number[];
  /** Held-out fraction, stratified by class (default 0.15; 0: no validation, no early stopping). */
  readonly validationFraction?: number;
  /** Explicit validation sequences (e.g. whole trials, so overlapping windows do not leak); overrides validationFraction. */
  readonly validation?: readonly number[];
  /** Epochs without a better validation loss before stopping (default 10). */
  readonly patience?: number;
  /** Shuffling, split and dropout seed (default 1). */
  readonly seed?: number;
  /** Switch tfjs to this backend first (initTfjsBackend); default: keep the current choice. */
  readonly backend?: TfjsBackendName;
  readonly onEpoch?: (info: HistnEpochInfo) => void;
}

export interface HistnTrainReport {
  /** Epochs run. */
  readonly epochs: number;
  readonly steps: number;
  readonly seconds: number;
  readonly trainLoss: readonly number[];
  readonly validationLoss: readonly number[];
  readonly validationAccuracy: readonly number[];
  /** Epoch whose weights were kept (null without validation: the last). */
  readonly bestEpoch: number | null;
  readonly stoppedEarly: boolean;
  readonly trainCount: number;
  readonly validationCount: number;
  readonly backend: string;
}

export const HISTN_TRAIN_DEFAULTS = {
  epochs: 80,
  batchSize: 64,
  learningRate: 0.01,
  l2: 1e-4,
  validationFraction: 0.15,
  patience: 10,
  seed: 1,
} as const;

/**
 * Trains a HiSTN-like network on X ([N, T, C, F] row-major, N = labels.length) with class indices
 * `labels` (0 = lowest). Resolves to the trained model (best validation weights) and a report.
 */
export async function trainHistn(X: Float32Array, labels: readonly number[], opts: HistnTrainOptions): Promise<{ model: HistnModel; report: HistnTrainReport }> {
  await initTfjsBackend(opts.backend);
  const t0 = performance.now();
  const seed = opts.seed ?? HISTN_TRAIN_DEFAULTS.seed;
  const model = opts.model ?? createModel(opts, seed);
  try {
    const report = await train(model, X, labels, opts, seed, t0);
    return { model, report };
  } catch (e) {
    if (!opts.model) model.dispose();
    throw e;
  }
}

function createModel(opts: HistnTrainOptions, seed: number): HistnModel {
  const missing = (['channels', 'featureCount', 'sequenceLength', 'classes'] as const).filter((k) => opts[k] === undefined);
  if (missing.length > 0) throw new Error(`histn: trainHistn needs ${missing.join(', ')} (or a model)`);
  return HistnModel.create({ seed, ...opts.spec }, opts.channels!, opts.featureCount!, opts.sequenceLength!, opts.classes!);
}

async function train(model: HistnModel, X: Float32Array, labels: readonly number[], opts: HistnTrainOptions, seed: number, t0: number): Promise<HistnTrainReport> {
  const K = model.classes.length;
  const N = labels.length;
  const per = model.sequenceLength * model.channels.length * model.featureCount;
  if (N === 0) throw new Error('histn: no training sequences');
  if (X.length !== N * per) throw new Error(`histn: X has ${X.length} values, expected ${N} sequences x ${model.sequenceLength} x ${model.channels.length} x ${model.featureCount} = ${N * per}`);
  labels.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || y >= K) throw new Error(`histn: label ${i} is ${y}, expected a class index in 0..${K - 1}`);
  });
  const epochs = opts.epochs ?? HISTN_TRAIN_DEFAULTS.epochs;
  const batchSize = opts.batchSize ?? HISTN_TRAIN_DEFAULTS.batchSize;
  const l2 = opts.l2 ?? HISTN_TRAIN_DEFAULTS.l2;
  const patience = opts.patience ?? HISTN_TRAIN_DEFAULTS.patience;
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`histn: epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`histn: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(patience) || patience < 1) throw new Error(`histn: patience must be a positive integer, got ${patience}`);

  const rng = new Random(seed);
  const { trainIdx, valIdx } = split(labels, K, opts, rng);
  if (trainIdx.length === 0) throw new Error('histn: every sequence is in the validation set');
  const targets = ordinalTargets(labels, K, opts);
  const sampleWeight = classWeighting(labels, trainIdx, K, opts.classWeights);

  const kernels = HISTN_KERNEL_NAMES.map((n) => model.variable(n));
  const dropout = model.spec.dropout;
  const run = await runTrainingLoop({
    train: trainIdx,
    epochs,
    batchSize,
    rng,
    learningRate: opts.learningRate ?? HISTN_TRAIN_DEFAULTS.learningRate,
    variables: model.variables(),
    checkpoint: () => model.variables(),
    patience,
    step: (idx, minimize) => {
      const B = idx.length;
      const q = new Float32Array(B * K);
      const w = new Float32Array(B);
      let wSum = 0;
      idx.forEach((s, b) => {
        q.set(targets.subarray(s * K, (s + 1) * K), b * K);
        w[b] = sampleWeight[s];
        wSum += w[b];
      });
      if (wSum <= 0) return null;
      const x = model.inputTensor(X, idx);
      const target = tf.tensor2d(q, [B, K]);
      const weight = tf.tensor1d(w.map((v) => v / wSum));
      const mask = dropout > 0 ? dropoutMask(rng, dropout, model.dropoutShape(B)) : null;
      try {
        const ce = minimize(
          () => tf.neg(tf.sum(tf.mul(weight, tf.sum(tf.mul(target, tf.logSoftmax(model.logits(x, B, mask))), 1)))) as tf.Scalar,
          l2 > 0 ? () => tf.mul<tf.Scalar>(l2, tf.addN(kernels.map((k) => tf.sum(tf.square(k))))) : undefined,
        );
        return { loss: ce, weight: wSum };
      } finally {
        tf.dispose([x, target, weight, ...(mask ? [mask] : [])]);
      }
    },
    validate: valIdx.length > 0 ? () => evaluate(model, X, labels, targets, sampleWeight, valIdx) : undefined,
    onEpoch: (epoch, loss, m) => opts.onEpoch?.({ epoch, loss, validationLoss: m ? m.loss : null, validationAccuracy: m ? m.accuracy : null, seconds: (performance.now() - t0) / 1000 }),
  });
  return {
    epochs: run.trainLoss.length,
    steps: run.steps,
    seconds: (performance.now() - t0) / 1000,
    trainLoss: run.trainLoss,
    validationLoss: run.metrics.map((m) => m.loss),
    validationAccuracy: run.metrics.map((m) => m.accuracy),
    bestEpoch: run.bestEpoch,
    stoppedEarly: run.stoppedEarly,
    trainCount: trainIdx.length,
    validationCount: valIdx.length,
    backend: tf.getBackend(),
  };
}

/** Training and validation indices: explicit, or a seeded split stratified by class. */
function split(labels: readonly number[], K: number, opts: HistnTrainOptions, rng: Random): { trainIdx: number[]; valIdx: number[] } {
  const N = labels.length;
  if (opts.validation) {
    const val = new Set<number>();
    for (const i of opts.validation) {
      if (!Number.isInteger(i) || i < 0 || i >= N) throw new Error(`histn: validation index ${i} is outside 0..${N - 1}`);
      val.add(i);
    }
    return { trainIdx: [...Array(N).keys()].filter((i) => !val.has(i)), valIdx: [...val].sort((a, b) => a - b) };
  }
  const fraction = opts.validationFraction ?? HISTN_TRAIN_DEFAULTS.validationFraction;
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`histn: validationFraction must be in [0, 1), got ${fraction}`);
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let c = 0; c < K; c++) {
    const members = rng.shuffle(labels.flatMap((y, i) => (y === c ? [i] : [])));
    const nVal = members.length >= 2 ? Math.round(members.length * fraction) : 0;
    valIdx.push(...members.slice(0, nVal));
    trainIdx.push(...members.slice(nVal));
  }
  return { trainIdx: trainIdx.sort((a, b) => a - b), valIdx: valIdx.sort((a, b) => a - b) };
}

/** Per-sequence loss weight from the class weighting (computed on the training part). */
function classWeighting(labels: readonly number[], trainIdx: readonly number[], K: number, spec: HistnTrainOptions['classWeights']): Float32Array {
  const w = new Float32Array(labels.length).fill(1);
  if (spec === undefined) return w;
  let perClass: number[];
  if (spec === 'balanced') {
    const counts = new Array<number>(K).fill(0);
    for (const i of trainIdx) counts[labels[i]]++;
    perClass = counts.map((n) => (n > 0 ? trainIdx.length / (K * n) : 0));
  } else {
    if (spec.length !== K || spec.some((v) => !(v >= 0) || !Number.isFinite(v))) throw new Error(`histn: classWeights must be 'balanced' or ${K} non-negative numbers`);
    perClass = [...spec];
  }
  labels.forEach((y, i) => (w[i] = perClass[y]));
  return w;
}

/** Weighted soft-target cross-entropy and plain accuracy over some sequences (inference mode). */
function evaluate(model: HistnModel, X: Float32Array, labels: readonly number[], targets: Float32Array, weights: Float32Array, indices: readonly number[]): { loss: number; accuracy: number } {
  const K = model.classes.length;
  let loss = 0;
  let wSum = 0;
  let correct = 0;
  const chunk = 512;
  for (let start = 0; start < indices.length; start += chunk) {
    const idx = indices.slice(start, start + chunk);
    const logp = tf.tidy(() => tf.logSoftmax(model.logits(model.inputTensor(X, idx), idx.length)));
    const lp = logp.dataSync();
    logp.dispose();
    idx.forEach((s, b) => {
      let ce = 0;
      let arg = 0;
      for (let j = 0; j < K; j++) {
        ce -= targets[s * K + j] * lp[b * K + j];
        if (lp[b * K + j] > lp[b * K + arg]) arg = j;
      }
      loss += weights[s] * ce;
      wSum += weights[s];
      if (arg === labels[s]) correct++;
    });
  }
  return { loss: wSum > 0 ? loss / wSum : 0, accuracy: correct / indices.length };
}
