/**
 * Training of the brain module (brain-module-model.ts): Adam with decoupled weight decay (AdamW)
 * on mini-batches, the CLIP loss with duplicate-image masking plus an optional MSE term
 * (clip-loss.ts), a learned or fixed temperature, per-batch spatial dropout of sensors, and a
 * validation split BY IMAGE with early stopping on validation retrieval, restoring the best
 * weights (the loop is the shared one, src/ml/tfjs/training-loop.ts).
 *
 * Data layout (the same as `BrainModuleModel.predict`): X holds n windows of T x C values,
 * time-major (value (t, c) of window i at i * T * C + t * C + c), Y the n x D image embeddings
 * (row i = the embedding of the image window i was recorded for).
 *
 * Images: `groups[i]` names window i's image. Without it, windows whose Y rows are bit-identical
 * count as the same image. The validation set is a seeded random choice of whole images (all
 * their windows, every subject), so no validation image is ever trained on; its windows are ranked
 * against the validation images' embeddings (top-1 / top-5 retrieval and the brain -> image
 * cross-entropy over that gallery at the current temperature). Inside a training batch, repeated
 * images are masked out of each other's softmax (`duplicateMask`).
 *
 * Early stopping (`monitor`): 'top5' keeps the epoch with the best validation top-5 accuracy,
 * ties broken by the lower validation loss; 'loss' the lowest validation loss.
 *
 * Temperature: 'learned' (the default) trains log(1/temperature) with the network, starting at
 * temperature 0.1 and kept within [0.01, 1]; a number fixes it.
 *
 * The graph is matMuls and element-wise ops, so it trains on the wasm backend (no conv gradients)
 * and on the pure-JS cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { Random } from '../../util/random.js';
import type { SensorPosition } from '../../stream/types.js';
import { initTfjsBackend, type TfjsBackendName } from '../tfjs/backend.js';
import { dropoutMask } from '../tfjs/dropout-mask.js';
import { runTrainingLoop } from '../tfjs/training-loop.js';
import { BrainModuleModel, normalisedPositions, robustChannelScaling, type BrainModuleSpec } from './brain-module-model.js';
import { clipLoss, duplicateMask, l2NormalizeArray, MASKED_LOGIT } from './clip-loss.js';

export interface BrainModuleEpochInfo {
  /** 0-based. */
  readonly epoch: number;
  /** Mean training loss (clipWeight * CLIP + mseWeight * MSE). */
  readonly loss: number;
  readonly validationLoss: number | null;
  readonly validationTop1: number | null;
  readonly validationTop5: number | null;
  readonly temperature: number;
  /** Seconds since training started. */
  readonly seconds: number;
}

export interface BrainModuleTrainOptions {
  /** Continue training this model (its shape must match X and Y); otherwise one is created from the fields below. */
  readonly model?: BrainModuleModel;
  /** Sensor positions, one per channel (needed without `model`). */
  readonly positions?: readonly SensorPosition[];
  /** Optional sensor type per channel (see BrainModuleShape.sensorTypes). */
  readonly sensorTypes?: readonly number[];
  /** Time points T per window (needed without `model`). */
  readonly timePoints?: number;
  /** Subject index per window (0..P-1); default all 0. */
  readonly subjects?: Int32Array | readonly number[];
  /** Number of subjects P (default: largest index + 1). */
  readonly subjectCount?: number;
  /** Image id per window (validation split and duplicate masking); default: identical Y rows. */
  readonly groups?: readonly string[];
  /** Network settings for a new model; spec.seed defaults to `seed`. */
  readonly spec?: BrainModuleSpec;
  /** Per-channel input scaling of a new model fitted on the training windows: 'robust' (median / IQR, default) or 'none'. */
  readonly scaling?: 'robust' | 'none';
  /** Maximum epochs (default 40). */
  readonly epochs?: number;
  /** Default 128 (the CLIP loss contrasts the windows of a batch). */
  readonly batchSize?: number;
  /** Adam step size (default 1e-3). */
  readonly learningRate?: number;
  /** Decoupled (AdamW) weight decay of kernels and position coefficients, per unit learning rate (default 0.01). */
  readonly weightDecay?: number;
  /** Default 1. */
  readonly clipWeight?: number;
  /** Default 0. */
  readonly mseWeight?: number;
  /** 'learned' (default, starts at 0.1) or a fixed temperature. */
  readonly temperature?: number | 'learned';
  /** Symmetric CLIP loss (default true); false: brain -> image only. */
  readonly symmetric?: boolean;
  /** Fraction of the images held out for validation and early stopping (default 0.1; 0: none, train on all, keep the last epoch). */
  readonly validationFraction?: number;
  /** Epochs without improvement before stopping (default 8). */
  readonly patience?: number;
  /** Early-stopping criterion (default 'top5'). */
  readonly monitor?: 'top5' | 'loss';
  /** Shuffling, split, dropout and initialisation seed (default 1). */
  readonly seed?: number;
  /** Switch tfjs to this backend first (initTfjsBackend); default: keep the current choice. */
  readonly backend?: TfjsBackendName;
  readonly onEpoch?: (info: BrainModuleEpochInfo) => void;
}

export interface BrainModuleTrainReport {
  /** Epochs run. */
  readonly epochs: number;
  readonly steps: number;
  readonly seconds: number;
  readonly trainLoss: readonly number[];
  readonly validationLoss: readonly number[];
  readonly validationTop1: readonly number[];
  readonly validationTop5: readonly number[];
  /** Epoch whose weights were kept (null without validation: the last). */
  readonly bestEpoch: number | null;
  readonly stoppedEarly: boolean;
  readonly trainCount: number;
  readonly validationCount: number;
  /** Images in the training and validation sets. */
  readonly trainImages: number;
  readonly validationImages: number;
  /** Temperature at the end (of the kept epoch when learned). */
  readonly temperature: number;
  readonly parameterCount: number;
  readonly backend: string;
}

export const BRAIN_MODULE_TRAIN_DEFAULTS = {
  epochs: 40,
  batchSize: 128,
  learningRate: 1e-3,
  weightDecay: 0.01,
  clipWeight: 1,
  mseWeight: 0,
  validationFraction: 0.1,
  patience: 8,
  seed: 1,
  initialTemperature: 0.1,
} as const;

const MIN_TEMPERATURE = 0.01;
const MAX_TEMPERATURE = 1;

/**
 * Trains a brain module mapping X (n x T x C, time-major) to Y (n x D). Resolves to the trained
 * model (best validation weights) and a report.
 */
export async function trainBrainModule(X: Float32Array, Y: Float32Array, opts: BrainModuleTrainOptions): Promise<{ model: BrainModuleModel; report: BrainModuleTrainReport }> {
  await initTfjsBackend(opts.backend);
  const t0 = performance.now();
  const seed = opts.seed ?? BRAIN_MODULE_TRAIN_DEFAULTS.seed;
  const data = checkData(X, Y, opts);
  const rng = new Random(seed);
  const keys = imageKeys(Y, data.n, data.D, opts.groups);
  const { trainIdx, valIdx, trainImages, valImages } = split(keys, opts, rng);
  const model = opts.model ?? createModel(X, data, opts, seed, trainIdx);
  try {
    const report = await train(model, X, Y, data, keys, trainIdx, valIdx, trainImages, valImages, opts, rng, t0);
    return { model, report };
  } catch (e) {
    if (!opts.model) model.dispose();
    throw e;
  }
}

interface DataShape {
  readonly n: number;
  readonly C: number;
  readonly T: number;
  readonly D: number;
  readonly subjects: Int32Array;
  readonly subjectCount: number;
}

function checkData(X: Float32Array, Y: Float32Array, opts: BrainModuleTrainOptions): DataShape {
  const m = opts.model;
  if (!m) {
    const missing = (['positions', 'timePoints'] as const).filter((k) => opts[k] === undefined);
    if (missing.length > 0) throw new Error(`brain module: trainBrainModule needs ${missing.join(', ')} (or a model)`);
  }
  const C = m ? m.channels : opts.positions!.length;
  const T = m ? m.timePoints : opts.timePoints!;
  if (!Number.isInteger(T) || T < 1) throw new Error(`brain module: timePoints must be a positive integer, got ${T}`);
  if (C < 1) throw new Error('brain module: positions must not be empty');
  const per = C * T;
  if (X.length === 0 || X.length % per !== 0) throw new Error(`brain module: X has ${X.length} values, not a positive multiple of ${T} time points x ${C} channels`);
  const n = X.length / per;
  if (Y.length % n !== 0 || Y.length === 0) throw new Error(`brain module: Y has ${Y.length} values, not a multiple of the ${n} windows of X`);
  const D = Y.length / n;
  if (m && D !== m.embeddingDim) throw new Error(`brain module: Y has ${D} values per window, the model embeds into ${m.embeddingDim}`);
  for (let i = 0; i < Y.length; i++) if (!Number.isFinite(Y[i])) throw new Error(`brain module: Y[${i}] is not a finite number`);
  if (opts.groups && opts.groups.length !== n) throw new Error(`brain module: ${opts.groups.length} groups for ${n} windows`);
  let subjects: Int32Array;
  if (opts.subjects) {
    if (opts.subjects.length !== n) throw new Error(`brain module: ${opts.subjects.length} subjects for ${n} windows`);
    subjects = Int32Array.from(opts.subjects);
  } else {
    subjects = new Int32Array(n);
  }
  const subjectCount = m ? m.subjectCount : (opts.subjectCount ?? subjects.reduce((a, s) => Math.max(a, s + 1), 1));
  subjects.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0 || s >= subjectCount) throw new Error(`brain module: subject of window ${i} is ${s}, expected 0..${subjectCount - 1}`);
  });
  return { n, C, T, D, subjects, subjectCount };
}

function createModel(X: Float32Array, data: DataShape, opts: BrainModuleTrainOptions, seed: number, trainIdx: readonly number[]): BrainModuleModel {
  let center: Float32Array | undefined;
  let scale: Float32Array | undefined;
  if ((opts.scaling ?? 'robust') === 'robust') {
    // Fitted on the training windows only.
    const per = data.T * data.C;
    const sub = new Float32Array(trainIdx.length * per);
    trainIdx.forEach((w, i) => sub.set(X.subarray(w * per, (w + 1) * per), i * per));
    ({ center, scale } = robustChannelScaling(sub, trainIdx.length, data.T, data.C));
  } else if (opts.scaling !== 'none') {
    throw new Error(`brain module: scaling must be 'robust' or 'none', got ${JSON.stringify(opts.scaling)}`);
  }
  return BrainModuleModel.create(
    { seed, ...opts.spec },
    {
      positions: opts.positions!,
      sensorTypes: opts.sensorTypes,
      timePoints: data.T,
      embeddingDim: data.D,
      subjectCount: data.subjectCount,
      channelCenter: center,
      channelScale: scale,
    },
  );
}

/** Image key per window: its group, or a hash of its Y row's bits. */
function imageKeys(Y: Float32Array, n: number, D: number, groups: readonly string[] | undefined): string[] {
  if (groups) return groups.map((g) => `g:${g}`);
  const bits = new Uint32Array(Y.buffer, Y.byteOffset, Y.length);
  return Array.from({ length: n }, (_, i) => {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let d = 0; d < D; d++) {
      const v = bits[i * D + d];
      h1 = Math.imul(h1 ^ v, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ (v + d), 0x5bd1e995) >>> 0;
      h2 ^= h2 >>> 15;
    }
    return `y:${h1.toString(36)}.${h2.toString(36)}`;
  });
}

/** A seeded split of whole images into training and validation. */
function split(keys: readonly string[], opts: BrainModuleTrainOptions, rng: Random): { trainIdx: number[]; valIdx: number[]; trainImages: number; valImages: number } {
  const fraction = opts.validationFraction ?? BRAIN_MODULE_TRAIN_DEFAULTS.validationFraction;
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`brain module: validationFraction must be in [0, 1), got ${fraction}`);
  const images = [...new Set(keys)];
  let nVal = fraction > 0 ? Math.max(2, Math.round(images.length * fraction)) : 0;
  if (images.length - nVal < 2) nVal = 0;
  const val = new Set(rng.shuffle([...images]).slice(0, nVal));
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  keys.forEach((k, i) => (val.has(k) ? valIdx : trainIdx).push(i));
  return { trainIdx, valIdx, trainImages: images.length - nVal, valImages: nVal };
}

async function train(
  model: BrainModuleModel,
  X: Float32Array,
  Y: Float32Array,
  data: DataShape,
  keys: readonly string[],
  trainIdx: readonly number[],
  valIdx: readonly number[],
  trainImages: number,
  valImages: number,
  opts: BrainModuleTrainOptions,
  rng: Random,
  t0: number,
): Promise<BrainModuleTrainReport> {
  const d = BRAIN_MODULE_TRAIN_DEFAULTS;
  const epochs = opts.epochs ?? d.epochs;
  const batchSize = opts.batchSize ?? d.batchSize;
  const learningRate = opts.learningRate ?? d.learningRate;
  const weightDecay = opts.weightDecay ?? d.weightDecay;
  const clipWeight = opts.clipWeight ?? d.clipWeight;
  const mseWeight = opts.mseWeight ?? d.mseWeight;
  const patience = opts.patience ?? d.patience;
  const monitor = opts.monitor ?? 'top5';
  const temperatureOpt = opts.temperature ?? 'learned';
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`brain module: epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new Error(`brain module: batchSize must be an integer >= 2, got ${batchSize}`);
  if (!(learningRate > 0)) throw new Error(`brain module: learningRate must be positive, got ${learningRate}`);
  if (!(weightDecay >= 0)) throw new Error(`brain module: weightDecay must be non-negative, got ${weightDecay}`);
  if (!(clipWeight >= 0) || !(mseWeight >= 0) || clipWeight + mseWeight <= 0)
    throw new Error(`brain module: clipWeight and mseWeight must be non-negative, not both 0 (got ${clipWeight}, ${mseWeight})`);
  if (!Number.isInteger(patience) || patience < 1) throw new Error(`brain module: patience must be a positive integer, got ${patience}`);
  if (monitor !== 'top5' && monitor !== 'loss') throw new Error(`brain module: monitor must be 'top5' or 'loss', got ${JSON.stringify(monitor)}`);
  if (temperatureOpt !== 'learned' && !(temperatureOpt >= MIN_TEMPERATURE && temperatureOpt <= MAX_TEMPERATURE)) {
    throw new Error(`brain module: temperature must be 'learned' or in [${MIN_TEMPERATURE}, ${MAX_TEMPERATURE}], got ${temperatureOpt}`);
  }
  if (trainIdx.length < 2) throw new Error(`brain module: need at least 2 training windows, got ${trainIdx.length}`);
  const { D } = data;

  const learned = temperatureOpt === 'learned';
  const logScale = tf.tidy(() => tf.variable(tf.scalar(Math.log(1 / (learned ? d.initialTemperature : temperatureOpt))), learned));
  const decayed = model.decayedWeightNames().map((n) => model.variable(n));
  const decayFactor = 1 - learningRate * weightDecay;
  const radius = model.spec.spatialDropout;
  const dropout = model.spec.dropout;
  const layout = radius > 0 ? normalisedPositions(model.positions) : null;
  const temperature = (): number => Math.exp(-logScale.dataSync()[0]);

  // Validation gallery: one normalised embedding per validation image.
  const firstWindow = new Map<string, number>();
  for (const i of valIdx) if (!firstWindow.has(keys[i])) firstWindow.set(keys[i], i);
  const valKeys = [...firstWindow.keys()];
  const gallery = new Float32Array(valKeys.length * D);
  valKeys.forEach((k, g) => {
    const i = firstWindow.get(k)!;
    gallery.set(Y.subarray(i * D, (i + 1) * D), g * D);
  });
  const galleryIndex = new Map(valKeys.map((k, g) => [k, g]));
  const valTruth = Int32Array.from(valIdx, (i) => galleryIndex.get(keys[i])!);
  const valX = gatherWindows(X, valIdx, data.T * data.C);
  const valSubjects = Int32Array.from(valIdx, (i) => data.subjects[i]);

  try {
    const run = await runTrainingLoop({
      train: trainIdx,
      epochs,
      batchSize,
      // Batches of near-equal size (no tiny last batch: the CLIP loss needs negatives).
      batching: 'even',
      rng,
      learningRate,
      variables: [...model.variables(), ...(learned ? [logScale] : [])],
      // The temperature of the best epoch is kept with its weights.
      checkpoint: () => [...model.variables(), logScale],
      patience,
      step: (idx, minimize) => {
        const batch = model.batch(X, idx, data.subjects);
        const B = batch.order.length;
        const yb = new Float32Array(B * D);
        batch.order.forEach((w, r) => yb.set(Y.subarray(w * D, (w + 1) * D), r * D));
        const dup = duplicateMask(batch.order.map((w) => keys[w]));
        const target = tf.tensor2d(yb, [B, D]);
        const mask = dup ? tf.tensor2d(dup, [B, B]) : null;
        const sensorMask = layout ? spatialDropoutMask(layout, radius, rng) : null;
        const featureMask = dropout > 0 ? dropoutMask(rng, dropout, [B, model.spec.featureChannels]) : null;
        try {
          const loss = minimize(() =>
            clipLoss(model.embed(batch, { sensorMask, featureMask }), target, { scale: tf.exp(logScale) as tf.Scalar, mask, clipWeight, mseWeight, symmetric: opts.symmetric }),
          );
          tf.tidy(() => {
            if (weightDecay > 0) for (const v of decayed) v.assign(tf.mul(v, decayFactor));
            if (learned) logScale.assign(tf.clipByValue(logScale, Math.log(1 / MAX_TEMPERATURE), Math.log(1 / MIN_TEMPERATURE)));
          });
          return { loss, weight: B };
        } finally {
          tf.dispose([batch.x, target, ...[mask, sensorMask, featureMask].filter((t): t is tf.Tensor2D => t !== null)]);
        }
      },
      validate:
        valIdx.length > 0
          ? () => {
              const { loss, top1, top5 } = retrievalMetrics(model.predict(valX, valIdx.length, valSubjects), valIdx.length, gallery, valKeys.length, D, valTruth, 1 / temperature());
              return { loss, top1, top5 };
            }
          : undefined,
      improves: monitor === 'top5' ? (m, best) => m.top5 > best.top5 || (m.top5 === best.top5 && m.loss < best.loss) : undefined,
      onEpoch: (epoch, loss, m) =>
        opts.onEpoch?.({
          epoch,
          loss,
          validationLoss: m ? m.loss : null,
          validationTop1: m ? m.top1 : null,
          validationTop5: m ? m.top5 : null,
          temperature: temperature(),
          seconds: (performance.now() - t0) / 1000,
        }),
    });
    return {
      epochs: run.trainLoss.length,
      steps: run.steps,
      seconds: (performance.now() - t0) / 1000,
      trainLoss: run.trainLoss,
      validationLoss: run.metrics.map((m) => m.loss),
      validationTop1: run.metrics.map((m) => m.top1),
      validationTop5: run.metrics.map((m) => m.top5),
      bestEpoch: run.bestEpoch,
      stoppedEarly: run.stoppedEarly,
      trainCount: trainIdx.length,
      validationCount: valIdx.length,
      trainImages,
      validationImages: valImages,
      temperature: temperature(),
      parameterCount: model.parameterCount,
      backend: tf.getBackend(),
    };
  } finally {
    logScale.dispose();
  }
}

function gatherWindows(X: Float32Array, idx: readonly number[], per: number): Float32Array {
  const out = new Float32Array(idx.length * per);
  idx.forEach((w, i) => out.set(X.subarray(w * per, (w + 1) * per), i * per));
  return out;
}

/** [1, C] additive mask dropping the sensors within `radius` of a random sensor (none if that would drop all). */
function spatialDropoutMask(layout: { u: Float64Array; v: Float64Array }, radius: number, rng: Random): tf.Tensor2D | null {
  const C = layout.u.length;
  const c0 = rng.int(C);
  const m = new Float32Array(C);
  let dropped = 0;
  for (let c = 0; c < C; c++) {
    if (Math.hypot(layout.u[c] - layout.u[c0], layout.v[c] - layout.v[c0]) < radius) {
      m[c] = MASKED_LOGIT;
      dropped++;
    }
  }
  return dropped === C ? null : tf.tensor2d(m, [1, C]);
}

export interface RetrievalMetrics {
  /** Fraction of windows whose image ranks first / within the first 5 of the gallery. */
  readonly top1: number;
  readonly top5: number;
  /** Mean 0-based rank of the true image (number of gallery images strictly more similar). */
  readonly meanRank: number;
  /** Mean brain -> image cross-entropy over the gallery at logit scale `scale`. */
  readonly loss: number;
  /** Rank per window. */
  readonly ranks: Int32Array;
}

/**
 * Retrieval of each of n predicted embeddings (n x D) among m gallery embeddings (m x D) by cosine
 * similarity; `truth[i]` is the gallery index of window i's image.
 */
export function retrievalMetrics(pred: Float32Array, n: number, gallery: Float32Array, m: number, D: number, truth: ArrayLike<number>, scale = 10): RetrievalMetrics {
  if (gallery.length !== m * D) throw new Error(`brain module: gallery has ${gallery.length} values, expected ${m} x ${D}`);
  if (truth.length !== n) throw new Error(`brain module: ${truth.length} true indices for ${n} windows`);
  const p = l2NormalizeArray(pred, n, D);
  const g = l2NormalizeArray(gallery, m, D);
  const ranks = new Int32Array(n);
  const sims = new Float64Array(m);
  let top1 = 0;
  let top5 = 0;
  let rankSum = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const t = truth[i];
    if (!Number.isInteger(t) || t < 0 || t >= m) throw new Error(`brain module: truth[${i}] is ${t}, expected 0..${m - 1}`);
    let max = -Infinity;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += p[i * D + k] * g[j * D + k];
      sims[j] = s * scale;
      if (sims[j] > max) max = sims[j];
    }
    let rank = 0;
    let z = 0;
    for (let j = 0; j < m; j++) {
      if (sims[j] > sims[t]) rank++;
      z += Math.exp(sims[j] - max);
    }
    loss += max + Math.log(z) - sims[t];
    ranks[i] = rank;
    rankSum += rank;
    if (rank < 1) top1++;
    if (rank < 5) top5++;
  }
  return n === 0 ? { top1: 0, top5: 0, meanRank: 0, loss: 0, ranks } : { top1: top1 / n, top5: top5 / n, meanRank: rankSum / n, loss: loss / n, ranks };
}
